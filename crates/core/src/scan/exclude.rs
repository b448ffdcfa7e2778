//! `--exclude`: hosts, `host:port`, CIDR ranges and files of them, matched in O(log n).
//!
//! An entry without a port excludes every port of that host or range; with a port, only that
//! port. Address ranges are merged into sorted intervals, so excluding ten thousand networks
//! costs a binary search per target, not ten thousand comparisons.

use ipnet::IpNet;
use std::collections::HashSet;
use std::net::IpAddr;

use super::entry::Entry;
use super::key::{KeySet, TargetKey, normalize_name};
use super::source::{Entries, Source, SourceError};
use crate::Target;

/// The port an entry parsed with when none was written (a real port is never 0).
const ANY_PORT: u16 = 0;

/// What not to scan.
#[derive(Debug, Default)]
pub struct Exclusions {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
    /// Ranges with a port (`10.0.0.0/24:3390`): rare, checked one by one.
    ranges_with_port: Vec<(IpNet, u16)>,
    names: HashSet<String>,
    exact: KeySet,
}

impl Exclusions {
    /// Read every source (items or files of them).
    pub fn from_sources(sources: Vec<Source>) -> Result<Exclusions, SourceError> {
        let mut x = Exclusions::default();
        for located in Entries::new(sources, ANY_PORT) {
            x.add(located?.entry);
        }
        x.finish();
        Ok(x)
    }

    fn add(&mut self, entry: Entry) {
        match entry {
            Entry::One(t) if t.port == ANY_PORT => match t.ip() {
                Some(ip) => self.add_net(IpNet::from(ip.to_canonical())),
                None => {
                    self.names.insert(normalize_name(&t.host));
                }
            },
            Entry::One(t) => {
                self.exact.insert(TargetKey::of(&t));
            }
            Entry::Range {
                net,
                explicit_port: false,
                ..
            } => self.add_net(net),
            Entry::Range { net, port, .. } => self.ranges_with_port.push((net, port)),
        }
    }

    fn add_net(&mut self, net: IpNet) {
        match net {
            IpNet::V4(n) => self.v4.push((n.network().into(), n.broadcast().into())),
            IpNet::V6(n) => self.v6.push((n.network().into(), n.broadcast().into())),
        }
    }

    fn finish(&mut self) {
        merge(&mut self.v4);
        merge(&mut self.v6);
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty()
            && self.v6.is_empty()
            && self.ranges_with_port.is_empty()
            && self.names.is_empty()
            && self.exact.is_empty()
    }

    /// Whether the target is excluded.
    pub fn excludes(&self, t: &Target) -> bool {
        if self.exact.contains(&TargetKey::of(t)) {
            return true;
        }
        match t.ip().map(|ip| ip.to_canonical()) {
            Some(IpAddr::V4(a)) => {
                within(&self.v4, u32::from(a))
                    || self
                        .ranges_with_port
                        .iter()
                        .any(|(n, p)| *p == t.port && n.contains(&IpAddr::V4(a)))
            }
            Some(IpAddr::V6(a)) => {
                within(&self.v6, u128::from(a))
                    || self
                        .ranges_with_port
                        .iter()
                        .any(|(n, p)| *p == t.port && n.contains(&IpAddr::V6(a)))
            }
            None => self.names.contains(&normalize_name(&t.host)),
        }
    }
}

/// Sort and merge overlapping or adjacent inclusive intervals.
fn merge<T: Ord + Copy + num_step::Step>(v: &mut Vec<(T, T)>) {
    v.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(v.len());
    for &(lo, hi) in v.iter() {
        match out.last_mut() {
            Some(last) if lo <= last.1 || T::next(last.1) == Some(lo) => {
                if hi > last.1 {
                    last.1 = hi;
                }
            }
            _ => out.push((lo, hi)),
        }
    }
    *v = out;
}

fn within<T: Ord + Copy>(v: &[(T, T)], x: T) -> bool {
    // The last interval starting at or before x is the only one that can hold it.
    let i = v.partition_point(|(lo, _)| *lo <= x);
    i > 0 && x <= v[i - 1].1
}

mod num_step {
    /// The next integer, for merging adjacent intervals.
    pub trait Step: Sized {
        fn next(self) -> Option<Self>;
    }
    impl Step for u32 {
        fn next(self) -> Option<u32> {
            self.checked_add(1)
        }
    }
    impl Step for u128 {
        fn next(self) -> Option<u128> {
            self.checked_add(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excl(items: &[&str]) -> Exclusions {
        Exclusions::from_sources(items.iter().map(|s| Source::Item(s.to_string())).collect())
            .unwrap()
    }

    fn t(s: &str) -> Target {
        Target::parse(s).unwrap()
    }

    #[test]
    fn ranges_hosts_and_ports() {
        let x = excl(&[
            "10.0.0.0/24",
            "10.0.1.0/24",
            "server01",
            "10.9.9.9:3390",
            "fd00::/64",
            "192.168.0.0/30:3390",
        ]);
        assert_eq!(x.v4, [(0x0A00_0000, 0x0A00_01FF)], "adjacent ranges merge");
        assert!(x.excludes(&t("10.0.1.200")));
        assert!(!x.excludes(&t("10.0.2.0")));
        assert!(
            x.excludes(&t("SERVER01.:4000")),
            "a host without a port: every port"
        );
        assert!(x.excludes(&t("10.9.9.9:3390")));
        assert!(
            !x.excludes(&t("10.9.9.9:3389")),
            "a host with a port: that port only"
        );
        assert!(x.excludes(&t("[fd00::1234]:3389")));
        assert!(!x.excludes(&t("[fd01::1]:3389")));
        assert!(x.excludes(&t("192.168.0.3:3390")));
        assert!(!x.excludes(&t("192.168.0.3:3389")));
    }

    #[test]
    fn single_addresses_and_edges() {
        let x = excl(&["10.0.0.5", "255.255.255.255", "0.0.0.0/32", "::1"]);
        assert!(x.excludes(&t("10.0.0.5:1")));
        assert!(!x.excludes(&t("10.0.0.4")));
        assert!(!x.excludes(&t("10.0.0.6")));
        assert!(x.excludes(&t("255.255.255.255")));
        assert!(x.excludes(&t("0.0.0.0")));
        assert!(x.excludes(&t("[::1]:3389")));
        assert!(
            x.excludes(&t("::ffff:10.0.0.5")),
            "mapped addresses are the IPv4 address"
        );
    }

    #[test]
    fn merge_handles_nesting_and_overlap() {
        let mut v = vec![(5u32, 10), (0, 2), (3, 4), (6, 7), (20, 30), (25, 40)];
        merge(&mut v);
        assert_eq!(v, [(0, 10), (20, 40)]);
        let mut v = vec![(u32::MAX - 1, u32::MAX), (0, 0)];
        merge(&mut v);
        assert_eq!(v, [(0, 0), (u32::MAX - 1, u32::MAX)]);
    }

    proptest::proptest! {
        #[test]
        fn matching_agrees_with_checking_every_range(
            nets in proptest::collection::vec((proptest::prelude::any::<u32>(), 16u8..=32), 0..12),
            probes in proptest::collection::vec(proptest::prelude::any::<u32>(), 1..40),
        ) {
            let texts: Vec<String> = nets.iter().map(|(a, p)| format!("{}/{p}", std::net::Ipv4Addr::from(*a))).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let x = excl(&refs);
            let parsed: Vec<ipnet::Ipv4Net> = texts.iter().map(|t| t.parse::<ipnet::Ipv4Net>().unwrap().trunc()).collect();
            // Probe random addresses and the edges of every range.
            let mut all = probes.clone();
            for n in &parsed {
                let (lo, hi) = (u32::from(n.network()), u32::from(n.broadcast()));
                all.extend([lo, hi, lo.wrapping_sub(1), hi.wrapping_add(1)]);
            }
            for a in all {
                let ip = std::net::Ipv4Addr::from(a);
                let naive = parsed.iter().any(|n| n.contains(&ip));
                proptest::prop_assert_eq!(x.excludes(&t(&ip.to_string())), naive, "{}", ip);
            }
        }
    }
}
