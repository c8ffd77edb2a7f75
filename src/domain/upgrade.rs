//! Upgrade and degrade rules: increments, the line's maxima, the defense
//! step, IP count options and types, and the bandwidth-to-IP ratio.

use super::catalog::Line;
use super::ipalloc::is_block_size;
use super::RuleError;

/// An instance's bandwidth (M), IP count and defense (G).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub bandwidth: i64,
    pub ipnum: i64,
    pub defense: i64,
}

/// The increments of one upgrade request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Increment {
    pub bandwidth: i64,
    pub ipnum: i64,
    pub defense: i64,
    /// 1 single IPs, 2 a subnet; only looked at when `ipnum` > 0.
    pub ip_type: i64,
}

fn list_text(list: &[i64]) -> String {
    list.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Checks an upgrade against the line and returns the totals after it.
pub fn check_upgrade(line: &Line, current: Totals, inc: Increment) -> Result<Totals, RuleError> {
    if inc.bandwidth == 0 && inc.ipnum == 0 && inc.defense == 0 {
        return Err(RuleError::UpgradeEmpty);
    }
    if line.upgrade_status != 1 {
        return Err(RuleError::UpgradeClosed);
    }
    if inc.defense > 0 && line.defense_status != 1 {
        return Err(RuleError::DefenseClosed);
    }
    if inc.ipnum > 0 {
        check_ip_increment(line, inc)?;
    }
    if inc.defense > 0 && line.defense_step > 0 && inc.defense % line.defense_step != 0 {
        return Err(RuleError::DefenseStep {
            value: inc.defense,
            step: line.defense_step,
        });
    }
    // Saturating: a huge increment must fail the maxima below, not wrap
    // past them (found by fuzzing: bandwidth=9223372036854775807).
    let after = Totals {
        bandwidth: current.bandwidth.saturating_add(inc.bandwidth),
        ipnum: current.ipnum.saturating_add(inc.ipnum),
        defense: current.defense.saturating_add(inc.defense),
    };
    if inc.bandwidth > 0 && after.bandwidth > line.bandwidth_max_size {
        return Err(RuleError::BandwidthMax {
            total: after.bandwidth,
            max: line.bandwidth_max_size,
        });
    }
    if inc.ipnum > 0 && after.ipnum > line.ip_max_size {
        return Err(RuleError::IpMax {
            total: after.ipnum,
            max: line.ip_max_size,
        });
    }
    if inc.defense > 0 && after.defense > line.defense_max_size {
        return Err(RuleError::DefenseMax {
            total: after.defense,
            max: line.defense_max_size,
        });
    }
    check_ratio(line, after)?;
    Ok(after)
}

/// An IP increment's type, count and (for a subnet) block size are ones
/// the line offers.
fn check_ip_increment(line: &Line, inc: Increment) -> Result<(), RuleError> {
    if !line.ip_upgrade_type.contains(&inc.ip_type) {
        return Err(RuleError::IpTypeNotAllowed {
            value: inc.ip_type,
            allowed: list_text(&line.ip_upgrade_type),
        });
    }
    let allowed = if line.ip_num_list.is_empty() {
        vec![1]
    } else {
        line.ip_num_list.clone()
    };
    if !allowed.contains(&inc.ipnum) {
        return Err(RuleError::IpNumNotAllowed {
            value: inc.ipnum,
            allowed: list_text(&allowed),
        });
    }
    if inc.ip_type == 2 && !is_block_size(inc.ipnum) {
        return Err(RuleError::SubnetSize { value: inc.ipnum });
    }
    Ok(())
}

/// Bandwidth ÷ IP count must be at least the line's `ip_bandwidth_rate`
/// when that is above 0. Compared in thousandths, so equal passes exactly.
pub fn check_ratio(line: &Line, totals: Totals) -> Result<(), RuleError> {
    let rate_milli = (line.ip_bandwidth_rate * 1000.0).round() as i64;
    if rate_milli <= 0 || totals.ipnum <= 0 {
        return Ok(());
    }
    if totals.bandwidth * 1000 >= rate_milli * totals.ipnum {
        return Ok(());
    }
    Err(RuleError::Ratio {
        bandwidth: totals.bandwidth,
        ips: totals.ipnum,
        ratio: totals.bandwidth as f64 / totals.ipnum as f64,
        rate: format!("{:.3}", line.ip_bandwidth_rate),
    })
}

/// How much of each upgrade can still be degraded (upgraded, not yet
/// degraded, no degrade pending).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Degradable {
    pub bandwidth: i64,
    pub defense: i64,
}

/// Checks a degrade's amounts and returns the totals once it (and every
/// degrade already pending, folded into `current`) has applied.
pub fn check_degrade(
    line: &Line,
    current: Totals,
    available: Degradable,
    request: Totals,
) -> Result<Totals, RuleError> {
    if request.bandwidth == 0 && request.ipnum == 0 && request.defense == 0 {
        return Err(RuleError::DegradeEmpty);
    }
    if line.reservation_degrade_status != 1 {
        return Err(RuleError::DegradeClosed);
    }
    if request.bandwidth > available.bandwidth {
        return Err(RuleError::DegradeExceedsUpgrade {
            item: "带宽",
            value: request.bandwidth,
            available: available.bandwidth,
        });
    }
    if request.defense > available.defense {
        return Err(RuleError::DegradeExceedsUpgrade {
            item: "防御",
            value: request.defense,
            available: available.defense,
        });
    }
    let after = Totals {
        bandwidth: current.bandwidth - request.bandwidth,
        ipnum: current.ipnum - request.ipnum,
        defense: current.defense - request.defense,
    };
    check_ratio(line, after)?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line() -> Line {
        Line {
            guid: "L".into(),
            zone_guid: "Z".into(),
            status: 1,
            buy_status: 1,
            renew_status: 1,
            upgrade_status: 1,
            defense_status: 1,
            buy_order_max_num: 10,
            bandwidth_max_size: 300,
            ip_max_size: 200,
            ip_num_list: vec![1, 8, 16, 32, 64, 128, 256],
            defense_max_size: 300,
            defense_step: 5,
            release_hour: 0,
            months: vec![1, 2, 3],
            ip_upgrade_type: vec![1, 2],
            retention_days: 1,
            ip_bandwidth_rate: 0.5,
            reservation_degrade_status: 1,
            reservation_degrade_valid_limit: 15,
        }
    }

    const BASE: Totals = Totals {
        bandwidth: 5,
        ipnum: 1,
        defense: 5,
    };

    fn inc(bandwidth: i64, ipnum: i64, defense: i64, ip_type: i64) -> Increment {
        Increment {
            bandwidth,
            ipnum,
            defense,
            ip_type,
        }
    }

    fn check(current: Totals, i: Increment, expect: Result<(i64, i64, i64), &str>) {
        let got = check_upgrade(&line(), current, i)
            .map(|t| (t.bandwidth, t.ipnum, t.defense))
            .map_err(|e| e.reason().as_str());
        assert_eq!(got, expect, "{current:?} + {i:?}");
    }

    #[test]
    fn upgrade_rules() {
        check(BASE, inc(1, 8, 5, 2), Ok((6, 9, 10)));
        check(BASE, inc(0, 0, 0, 2), Err("upgrade_empty"));
        check(BASE, inc(295, 0, 0, 1), Ok((300, 1, 5)));
        check(BASE, inc(296, 0, 0, 1), Err("bandwidth_max_exceeded"));
        check(BASE, inc(0, 0, 295, 1), Ok((5, 1, 300)));
        check(BASE, inc(0, 0, 300, 1), Err("defense_max_exceeded"));
        check(BASE, inc(0, 0, 7, 1), Err("defense_step"));
        check(BASE, inc(0, 0, 10, 1), Ok((5, 1, 15)));
        check(BASE, inc(100, 3, 0, 1), Err("ipnum_not_allowed"));
        check(BASE, inc(100, 1, 0, 2), Err("subnet_size"));
        check(BASE, inc(5, 8, 0, 3), Err("ip_type_not_allowed"));
        // Ratio: 5M for 9 IPs is 0.556 >= 0.5; 5M for 17 IPs is not.
        check(BASE, inc(0, 8, 0, 2), Ok((5, 9, 5)));
        check(BASE, inc(0, 16, 0, 2), Err("ratio_violation"));
        // Exactly equal passes: 8.5 is not whole, so 9M over 18 IPs -> 0.5.
        check(
            Totals {
                bandwidth: 9,
                ipnum: 2,
                defense: 0,
            },
            inc(0, 16, 0, 2),
            Ok((9, 18, 0)),
        );
        check(
            Totals {
                bandwidth: 8,
                ipnum: 2,
                defense: 0,
            },
            inc(0, 16, 0, 2),
            Err("ratio_violation"),
        );
        // IP maximum: 193 + 8 = 201 > 200.
        check(
            Totals {
                bandwidth: 300,
                ipnum: 193,
                defense: 0,
            },
            inc(0, 8, 0, 2),
            Err("ip_max_exceeded"),
        );
        check(
            Totals {
                bandwidth: 300,
                ipnum: 192,
                defense: 0,
            },
            inc(0, 8, 0, 2),
            Ok((300, 200, 0)),
        );
    }

    #[test]
    fn closed_switches() {
        let mut l = line();
        l.upgrade_status = 0;
        assert_eq!(
            check_upgrade(&l, BASE, inc(1, 0, 0, 1)).map_err(|e| e.reason().as_str()),
            Err("upgrade_closed")
        );
        let mut l = line();
        l.defense_status = 0;
        assert_eq!(
            check_upgrade(&l, BASE, inc(0, 0, 5, 1)).map_err(|e| e.reason().as_str()),
            Err("defense_upgrade_closed")
        );
        let mut l = line();
        l.ip_num_list = vec![];
        assert_eq!(
            check_upgrade(&l, BASE, inc(0, 1, 0, 1)).map(|t| t.ipnum),
            Ok(2)
        );
        assert_eq!(
            check_upgrade(&l, BASE, inc(0, 8, 0, 2)).map_err(|e| e.reason().as_str()),
            Err("ipnum_not_allowed")
        );
        let mut l = line();
        l.ip_bandwidth_rate = 0.0;
        assert!(
            check_upgrade(&l, BASE, inc(0, 256, 0, 2)).is_err(),
            "256+1 > ip_max_size 200"
        );
        assert_eq!(
            check_upgrade(&l, BASE, inc(0, 128, 0, 2)).map(|t| t.ipnum),
            Ok(129)
        );
    }

    #[test]
    fn a_rule_looks_only_at_what_the_request_changes() {
        // Totals already over every maximum do not block an increment of
        // something else, and ip_type is read only with an IP increment.
        let over = Totals {
            bandwidth: 400,
            ipnum: 1,
            defense: 400,
        };
        let over_ips = Totals {
            bandwidth: 300,
            ipnum: 250,
            defense: 5,
        };
        let mut l = line();
        l.ip_bandwidth_rate = 0.0;
        let up = |current: Totals, i: Increment| {
            check_upgrade(&l, current, i)
                .map(|t| (t.bandwidth, t.ipnum, t.defense))
                .map_err(|e| e.reason().as_str())
        };
        assert_eq!(up(over, inc(0, 8, 0, 2)), Ok((400, 9, 400)));
        assert_eq!(up(over_ips, inc(0, 0, 5, 9)), Ok((300, 250, 10)));
        assert_eq!(up(over_ips, inc(0, 0, 0, 1)), Err("upgrade_empty"));
        let mut no_defense = line();
        no_defense.defense_status = 0;
        assert_eq!(
            check_upgrade(&no_defense, BASE, inc(1, 0, 0, 1)).map(|t| t.bandwidth),
            Ok(6)
        );
        let mut any_step = line();
        any_step.defense_step = 0;
        assert_eq!(
            check_upgrade(&any_step, BASE, inc(0, 0, 7, 1)).map(|t| t.defense),
            Ok(12)
        );
    }

    #[test]
    fn refusals_name_the_numbers() {
        let message = |current: Totals, i: Increment| {
            check_upgrade(&line(), current, i)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            message(BASE, inc(5, 8, 0, 3)),
            "线路不支持该 IP 类型 ip_type 3（可选 1,2）"
        );
        assert_eq!(
            message(BASE, inc(100, 3, 0, 1)),
            "IP 数量 3 不在线路可选项 1,8,16,32,64,128,256 中"
        );
        assert_eq!(
            message(BASE, inc(0, 16, 0, 2)),
            "带宽/IP 配比不足：5M / 17 个 IP = 0.294，需 ≥ 0.500"
        );
        assert_eq!(
            message(BASE, inc(296, 0, 0, 1)),
            "升级后带宽 301M 超过线路上限 300M"
        );
    }

    #[test]
    fn the_ratio_is_not_checked_without_ips_or_without_a_rate() {
        let no_ips = Totals {
            bandwidth: 0,
            ipnum: 0,
            defense: 0,
        };
        assert_eq!(check_ratio(&line(), no_ips), Ok(()));
        let mut free = line();
        free.ip_bandwidth_rate = 0.0;
        let thin = Totals {
            bandwidth: 1,
            ipnum: 64,
            defense: 0,
        };
        assert_eq!(check_ratio(&free, thin), Ok(()));
        assert!(check_ratio(&line(), thin).is_err());
        // A rate under half a thousandth rounds to 0: no check.
        free.ip_bandwidth_rate = 0.0004;
        assert_eq!(check_ratio(&free, thin), Ok(()));
    }

    #[test]
    fn a_degrade_of_more_defense_than_was_upgraded_is_refused() {
        let cur = Totals {
            bandwidth: 6,
            ipnum: 9,
            defense: 10,
        };
        let avail = Degradable {
            bandwidth: 1,
            defense: 5,
        };
        let err = check_degrade(
            &line(),
            cur,
            avail,
            Totals {
                bandwidth: 0,
                ipnum: 0,
                defense: 6,
            },
        )
        .err();
        assert_eq!(
            err.map(|e| e.to_string()).unwrap_or_default(),
            "防御 降配 6 超过可降配的升级量 5（降配须与升级记录对应）"
        );
        let ip_only = check_degrade(
            &line(),
            cur,
            avail,
            Totals {
                bandwidth: 0,
                ipnum: 8,
                defense: 0,
            },
        );
        assert_eq!(
            ip_only,
            Ok(Totals {
                bandwidth: 6,
                ipnum: 1,
                defense: 10
            })
        );
    }

    fn totals(bandwidth: i64, ipnum: i64, defense: i64) -> Totals {
        Totals {
            bandwidth,
            ipnum,
            defense,
        }
    }

    #[test]
    fn degrade_rules() {
        let cur = totals(6, 9, 10);
        let avail = Degradable {
            bandwidth: 1,
            defense: 5,
        };
        let mut closed = line();
        closed.reservation_degrade_status = 0;
        // Degrading bandwidth but keeping the IPs breaks the ratio: 5M / 9 IPs ok, 4M/9 not.
        let at_ratio = totals(5, 9, 0);
        let bandwidth_only = Degradable {
            bandwidth: 1,
            defense: 0,
        };
        // (line, current, degradable, request, the totals after or the reason)
        let cases = [
            (line(), cur, avail, totals(1, 8, 5), Ok(totals(5, 1, 5))),
            (
                line(),
                cur,
                avail,
                totals(2, 0, 0),
                Err("degrade_exceeds_upgrade"),
            ),
            (line(), cur, avail, Totals::default(), Err("degrade_empty")),
            (
                line(),
                at_ratio,
                bandwidth_only,
                totals(1, 0, 0),
                Err("ratio_violation"),
            ),
            (
                closed,
                at_ratio,
                avail,
                totals(1, 0, 0),
                Err("degrade_closed"),
            ),
        ];
        for (line, cur, avail, request, want) in cases {
            let got = check_degrade(&line, cur, avail, request).map_err(|e| e.reason().as_str());
            assert_eq!(got, want, "{cur:?} less {request:?}");
        }
    }
}
