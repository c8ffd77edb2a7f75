//! IP address allocation over `ipnet`: aligned subnet blocks and single
//! addresses, first fit from the bottom of a pool, never overlapping what is
//! taken. Pure: the caller supplies the taken ranges and stores the result.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// An inclusive range of addresses as integers.
pub type Range = (u32, u32);

/// Sorts and merges ranges so lookups can binary-search them.
pub fn normalise(mut ranges: Vec<Range>) -> Vec<Range> {
    ranges.sort_unstable();
    let mut out: Vec<Range> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// Whether `[lo, hi]` touches any of the (normalised) taken ranges.
pub fn overlaps(taken: &[Range], lo: u32, hi: u32) -> bool {
    // The first range whose end is >= lo is the only candidate.
    let i = taken.partition_point(|r| r.1 < lo);
    taken.get(i).is_some_and(|r| r.0 <= hi)
}

/// Whether `size` is a valid subnet block size (a power of two, at least 4).
pub fn is_block_size(size: i64) -> bool {
    size >= 4 && (size as u64).is_power_of_two() && size <= (1 << 24)
}

/// The lowest aligned block of `size` addresses inside `pool` that touches
/// nothing taken.
pub fn alloc_block(pool: Ipv4Net, size: u32, taken: &[Range]) -> Option<Ipv4Net> {
    if !is_block_size(size as i64) {
        return None;
    }
    let prefix = 32 - size.trailing_zeros() as u8;
    if prefix < pool.prefix_len() {
        return None;
    }
    let start = u32::from(pool.network());
    let end = u32::from(pool.broadcast());
    let mut lo = start;
    loop {
        let hi = lo.checked_add(size - 1)?;
        if hi > end {
            return None;
        }
        if !overlaps(taken, lo, hi) {
            return Ipv4Net::new(Ipv4Addr::from(lo), prefix).ok();
        }
        // Skip past the range that blocked us, to the next aligned start.
        let i = taken.partition_point(|r| r.1 < lo);
        let blocked_to = taken.get(i).map(|r| r.1).unwrap_or(hi);
        let next = (blocked_to / size).checked_add(1)?.checked_mul(size)?;
        lo = next.max(lo.checked_add(size)?);
    }
}

/// The lowest `n` free host addresses of `pool` (network and broadcast
/// excluded; the caller puts the gateway in `taken`).
pub fn alloc_singles(pool: Ipv4Net, n: u32, taken: &[Range]) -> Option<Vec<Ipv4Addr>> {
    let mut out = Vec::with_capacity(n as usize);
    if n == 0 {
        return Some(out);
    }
    let (first, last) = host_bounds(pool);
    let mut addr = first;
    let mut i = taken.partition_point(|r| r.1 < addr);
    while addr <= last {
        match taken.get(i) {
            Some(r) if r.0 <= addr => {
                addr = r.1.checked_add(1)?;
                i += 1;
                continue;
            }
            _ => {}
        }
        out.push(Ipv4Addr::from(addr));
        if out.len() == n as usize {
            return Some(out);
        }
        addr = addr.checked_add(1)?;
    }
    None
}

fn host_bounds(pool: Ipv4Net) -> (u32, u32) {
    let net = u32::from(pool.network());
    let bcast = u32::from(pool.broadcast());
    if pool.prefix_len() >= 31 {
        (net, bcast)
    } else {
        (net + 1, bcast - 1)
    }
}

/// The entries of a block in the engine's order: network, gateway (the
/// second address), the usable addresses, broadcast.
pub fn block_entries(block: Ipv4Net) -> Vec<(Ipv4Addr, &'static str)> {
    let lo = u32::from(block.network());
    let hi = u32::from(block.broadcast());
    (lo..=hi)
        .map(|a| {
            let kind = if a == lo {
                "network"
            } else if a == lo + 1 {
                "gateway"
            } else if a == hi {
                "broadcast"
            } else {
                "ip"
            };
            (Ipv4Addr::from(a), kind)
        })
        .collect()
}

/// The gateway the engine gives a block: its second address.
pub fn block_gateway(block: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(block.network()) + 1)
}

/// Groups addresses into contiguous runs that stay within one /24, so each
/// run can be written `a.b.c.x-y`.
pub fn group_runs(addrs: &[Ipv4Addr]) -> Vec<Range> {
    let mut ints: Vec<u32> = addrs.iter().map(|a| u32::from(*a)).collect();
    ints.sort_unstable();
    let mut out: Vec<Range> = Vec::new();
    for a in ints {
        match out.last_mut() {
            Some(last) if a == last.1 + 1 && (a >> 8) == (last.0 >> 8) => last.1 = a,
            _ => out.push((a, a)),
        }
    }
    out
}

/// `114.114.8.16-23` for a run, `114.114.8.16` for one address.
pub fn run_label(run: Range) -> String {
    let lo = Ipv4Addr::from(run.0);
    if run.0 == run.1 {
        lo.to_string()
    } else {
        format!("{lo}-{}", run.1 & 0xff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap_or_default()
    }

    fn ip(s: &str) -> u32 {
        u32::from(s.parse::<Ipv4Addr>().unwrap_or(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn document_example_block() {
        // The seed reserves 114.114.8.0/28, so the first /29 is .16, as in the document.
        let taken = normalise(vec![(ip("114.114.8.0"), ip("114.114.8.15"))]);
        let block = alloc_block(net("114.114.8.0/22"), 8, &taken);
        assert_eq!(block, Some(net("114.114.8.16/29")));
        let entries = block.map(block_entries).unwrap_or_default();
        let kinds: Vec<_> = entries.iter().map(|e| e.1).collect();
        assert_eq!(
            kinds,
            [
                "network",
                "gateway",
                "ip",
                "ip",
                "ip",
                "ip",
                "ip",
                "broadcast"
            ]
        );
        assert_eq!(entries[0].0.to_string(), "114.114.8.16");
        assert_eq!(
            block.map(block_gateway).map(|g| g.to_string()).as_deref(),
            Some("114.114.8.17")
        );
        assert_eq!(
            block.map(|b| b.netmask().to_string()).as_deref(),
            Some("255.255.255.248")
        );
    }

    #[test]
    fn blocks_skip_taken_and_stay_aligned() {
        let taken = normalise(vec![
            (ip("10.0.0.3"), ip("10.0.0.3")),
            (ip("10.0.0.9"), ip("10.0.0.20")),
        ]);
        assert_eq!(
            alloc_block(net("10.0.0.0/24"), 4, &taken),
            Some(net("10.0.0.4/30"))
        );
        assert_eq!(
            alloc_block(net("10.0.0.0/24"), 16, &taken),
            Some(net("10.0.0.32/28"))
        );
        assert_eq!(alloc_block(net("10.0.0.0/28"), 32, &[]), None);
        assert_eq!(alloc_block(net("10.0.0.0/24"), 6, &[]), None);
        assert_eq!(
            alloc_block(
                net("10.0.0.0/30"),
                4,
                &normalise(vec![(ip("10.0.0.1"), ip("10.0.0.1"))])
            ),
            None
        );
    }

    #[test]
    fn a_range_touching_either_end_overlaps() {
        let taken = normalise(vec![(5, 8), (20, 20)]);
        for (lo, hi, want) in [
            (0, 4, false),
            (0, 5, true),
            (8, 10, true),
            (9, 19, false),
            (9, 20, true),
            (20, 30, true),
            (21, 30, false),
        ] {
            assert_eq!(overlaps(&taken, lo, hi), want, "{lo}..={hi}");
        }
    }

    #[test]
    fn a_block_may_fill_its_pool_exactly() {
        assert_eq!(
            alloc_block(net("10.0.0.0/30"), 4, &[]),
            Some(net("10.0.0.0/30"))
        );
        // The last aligned block of a pool, and a free address right after a block.
        let taken = normalise(vec![(ip("10.0.0.0"), ip("10.0.0.3"))]);
        assert_eq!(
            alloc_block(net("10.0.0.0/29"), 4, &taken),
            Some(net("10.0.0.4/30"))
        );
        // Skipping past what blocked a candidate never skips a free block:
        // a single address on an aligned start, a small block before a big one.
        let single = normalise(vec![
            (ip("10.0.0.0"), ip("10.0.0.0")),
            (ip("10.0.0.100"), ip("10.0.0.120")),
        ]);
        assert_eq!(
            alloc_block(net("10.0.0.0/24"), 4, &single),
            Some(net("10.0.0.4/30"))
        );
        let small = normalise(vec![(ip("10.0.0.0"), ip("10.0.0.3"))]);
        assert_eq!(
            alloc_block(net("10.0.0.0/24"), 32, &small),
            Some(net("10.0.0.32/27"))
        );
        let after = normalise(vec![(ip("10.0.0.4"), ip("10.0.0.4"))]);
        assert_eq!(
            alloc_block(net("10.0.0.0/24"), 4, &after),
            Some(net("10.0.0.0/30"))
        );
    }

    #[test]
    fn singles_skip_network_broadcast_and_taken() {
        let taken = normalise(vec![
            (ip("10.0.0.1"), ip("10.0.0.1")),
            (ip("10.0.0.3"), ip("10.0.0.4")),
        ]);
        let got = alloc_singles(net("10.0.0.0/29"), 3, &taken).unwrap_or_default();
        let got: Vec<String> = got.iter().map(|a| a.to_string()).collect();
        assert_eq!(got, ["10.0.0.2", "10.0.0.5", "10.0.0.6"]);
        assert_eq!(alloc_singles(net("10.0.0.0/29"), 4, &taken), None);
    }

    #[test]
    fn runs_and_their_labels() {
        for (run, label) in [
            ((ip("114.114.8.16"), ip("114.114.8.23")), "114.114.8.16-23"),
            ((ip("1.2.3.4"), ip("1.2.3.4")), "1.2.3.4"),
        ] {
            assert_eq!(run_label(run), label);
        }
        let addrs: Vec<Ipv4Addr> = ["1.2.3.254", "1.2.3.255", "1.2.4.0", "1.2.4.2"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        // Runs are contiguous and stay inside one /24.
        assert_eq!(
            group_runs(&addrs),
            [
                (ip("1.2.3.254"), ip("1.2.3.255")),
                (ip("1.2.4.0"), ip("1.2.4.0")),
                (ip("1.2.4.2"), ip("1.2.4.2")),
            ]
        );
    }

    proptest! {
        /// Random sequences of allocate/release never overlap, stay aligned
        /// and inside the pool, and every block's entries are right.
        #[test]
        fn allocator_never_overlaps(ops in proptest::collection::vec((0usize..4, any::<bool>(), 0usize..64), 1..120)) {
            let pool = net("172.16.0.0/22");
            let sizes = [4u32, 8, 16, 32];
            let mut live: Vec<Ipv4Net> = Vec::new();
            for (size_idx, release, pick) in ops {
                if release && !live.is_empty() {
                    live.remove(pick % live.len());
                    continue;
                }
                let taken = normalise(live.iter().map(|b| (u32::from(b.network()), u32::from(b.broadcast()))).collect());
                let size = sizes[size_idx];
                if let Some(block) = alloc_block(pool, size, &taken) {
                    prop_assert!(pool.contains(&block));
                    prop_assert_eq!(u32::from(block.network()) % size, 0);
                    prop_assert_eq!(block.hosts().count() as u32 + 2, size);
                    for other in &live {
                        prop_assert!(!other.contains(&block) && !block.contains(other), "{} overlaps {}", block, other);
                    }
                    let entries = block_entries(block);
                    prop_assert_eq!(entries.len() as u32, size);
                    prop_assert_eq!(entries[0], (block.network(), "network"));
                    prop_assert_eq!(entries[1], (block_gateway(block), "gateway"));
                    prop_assert_eq!(entries[entries.len() - 1], (block.broadcast(), "broadcast"));
                    // First fit: no lower aligned block was free.
                    let lower_free = (0..(1024 / size)).map(|k| u32::from(pool.network()) + k * size)
                        .take_while(|lo| *lo < u32::from(block.network()))
                        .any(|lo| !overlaps(&taken, lo, lo + size - 1));
                    prop_assert!(!lower_free, "{} is not the lowest free block", block);
                    live.push(block);
                } else {
                    // Exhaustion must be real: no aligned free block exists.
                    let free = (0..(1024 / size)).any(|k| {
                        let lo = u32::from(pool.network()) + k * size;
                        !overlaps(&taken, lo, lo + size - 1)
                    });
                    prop_assert!(!free);
                }
            }
        }
    }
}
