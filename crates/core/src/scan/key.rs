//! Identity of a target for deduplication, exclusion and resume: the address (or the name,
//! case-folded) and the port. `10.0.0.5`, `10.0.0.5:3389` and `::ffff:10.0.0.5` are one target;
//! `server01` and `SERVER01.` are one target; a name and the address it resolves to are two
//! (resolution happens inside the check, not while targets are read).
//!
//! [`KeySet`] stores keys compactly because it grows with the number of targets: an IPv4 target
//! is one `u64` (address << 16 | port), so a million targets cost about 16 MB, not a million
//! `String`s.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::Target;

/// The identity of one target.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TargetKey {
    V4(u64),
    V6(u128, u16),
    Name(Box<str>, u16),
}

impl TargetKey {
    pub fn new(host: &str, port: u16) -> TargetKey {
        match host.parse::<IpAddr>() {
            Ok(ip) => Self::from_ip(ip, port),
            Err(_) => TargetKey::Name(normalize_name(host).into(), port),
        }
    }

    pub fn from_ip(ip: IpAddr, port: u16) -> TargetKey {
        match ip.to_canonical() {
            IpAddr::V4(v4) => TargetKey::V4((u64::from(u32::from(v4)) << 16) | u64::from(port)),
            IpAddr::V6(v6) => TargetKey::V6(u128::from(v6), port),
        }
    }

    pub fn of(target: &Target) -> TargetKey {
        Self::new(&target.host, target.port)
    }
}

/// The host part only: what per-host politeness counts checks against.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HostKey {
    Ip(IpAddr),
    Name(Box<str>),
}

impl HostKey {
    pub fn of(target: &Target) -> HostKey {
        match target.ip() {
            Some(ip) => HostKey::Ip(ip.to_canonical()),
            None => HostKey::Name(normalize_name(&target.host).into()),
        }
    }
}

/// Host names compare case-insensitively and without the root dot.
pub fn normalize_name(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// A set of [`TargetKey`]s, one compact table per kind.
#[derive(Debug, Default)]
pub struct KeySet {
    v4: HashSet<u64>,
    v6: HashSet<(u128, u16)>,
    names: HashSet<(Box<str>, u16)>,
}

impl KeySet {
    pub fn new() -> KeySet {
        KeySet::default()
    }

    /// Adds the key; `false` when it was already there.
    pub fn insert(&mut self, key: TargetKey) -> bool {
        match key {
            TargetKey::V4(k) => self.v4.insert(k),
            TargetKey::V6(a, p) => self.v6.insert((a, p)),
            TargetKey::Name(n, p) => self.names.insert((n, p)),
        }
    }

    pub fn contains(&self, key: &TargetKey) -> bool {
        match key {
            TargetKey::V4(k) => self.v4.contains(k),
            TargetKey::V6(a, p) => self.v6.contains(&(*a, *p)),
            // Borrowing a (Box<str>, u16) tuple as (&str, u16) is not possible with HashSet's
            // Borrow; names are rare next to addresses, so the clone is acceptable.
            TargetKey::Name(n, p) => self.names.contains(&(n.clone(), *p)),
        }
    }

    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len() + self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_target_written_several_ways_is_one_key() {
        assert_eq!(
            TargetKey::new("10.0.0.5", 3389),
            TargetKey::new("::ffff:10.0.0.5", 3389)
        );
        assert_eq!(
            TargetKey::new("Server01.Contoso.com.", 3389),
            TargetKey::new("server01.contoso.com", 3389)
        );
        assert_ne!(
            TargetKey::new("10.0.0.5", 3389),
            TargetKey::new("10.0.0.5", 3390)
        );
        assert_eq!(TargetKey::new("fe80::1", 1), TargetKey::new("FE80:0::1", 1));
    }

    #[test]
    fn keyset_dedups_each_kind() {
        let mut s = KeySet::new();
        assert!(s.insert(TargetKey::new("10.0.0.1", 3389)));
        assert!(!s.insert(TargetKey::new("10.0.0.1", 3389)));
        assert!(s.insert(TargetKey::new("::1", 3389)));
        assert!(!s.insert(TargetKey::new("0:0::1", 3389)));
        assert!(s.insert(TargetKey::new("a.example", 3389)));
        assert!(!s.insert(TargetKey::new("A.EXAMPLE", 3389)));
        assert!(s.contains(&TargetKey::new("a.example", 3389)));
        assert_eq!(s.len(), 3);
    }
}
