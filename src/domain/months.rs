//! Calendar-month arithmetic for `end_time`: whole months in the engine's
//! zone, clamped to the end of a shorter month (Jan 31 + 1 month = Feb 28/29).

use chrono::{DateTime, FixedOffset, Months, TimeZone};

/// `unix` plus `months` calendar months, in the given zone.
pub fn add_months(unix: i64, months: u32, zone: FixedOffset) -> Option<i64> {
    let local = DateTime::from_timestamp(unix, 0)?
        .with_timezone(&zone)
        .naive_local();
    let moved = local.checked_add_months(Months::new(months))?;
    zone.from_local_datetime(&moved)
        .single()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{format_time, parse_time};
    use chrono::Offset;

    fn check(start: &str, months: u32, expect: &str) {
        let zone = FixedOffset::east_opt(8 * 3600).unwrap_or(chrono::Utc.fix());
        let t = parse_time(start, zone).unwrap_or_default();
        let got = add_months(t, months, zone).map(|t| format_time(t, zone));
        assert_eq!(got.as_deref(), Some(expect), "{start} + {months}");
    }

    #[test]
    fn month_edges() {
        check("2021-08-17 16:57:43", 1, "2021-09-17 16:57:43");
        check("2026-01-31 10:00:00", 1, "2026-02-28 10:00:00");
        check("2028-01-31 10:00:00", 1, "2028-02-29 10:00:00");
        check("2028-02-29 00:00:00", 12, "2029-02-28 00:00:00");
        check("2026-03-31 23:59:59", 1, "2026-04-30 23:59:59");
        check("2026-11-28 15:40:00", 36, "2029-11-28 15:40:00");
        check("2026-12-31 00:00:00", 2, "2027-02-28 00:00:00");
    }
}
