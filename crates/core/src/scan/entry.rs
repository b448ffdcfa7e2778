//! One item of a target list, on the command line or on a line of a file: a host, `host:port`,
//! an IPv4 or IPv6 CIDR range (optionally with a port: `10.0.0.0/24:3390`,
//! `[fd00::/120]:3390`) or the path of a `.rdp` file. Parsing is pure; ranges expand lazily, so
//! `10.0.0.0/8` costs nothing until its addresses are drawn.

use ipnet::{IpAddrRange, IpNet, Ipv4AddrRange, Ipv6AddrRange};
use std::net::IpAddr;
use std::path::PathBuf;

use crate::Target;
use crate::target::TargetError;

/// A parsed item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// One server.
    One(Target),
    /// Every address of a network (network and broadcast addresses included, as nmap does:
    /// the count is then exactly 2^(bits - prefix)).
    Range {
        net: IpNet,
        port: u16,
        /// Whether the port was written (`/24:3390`), so the address can be shown as given.
        explicit_port: bool,
    },
}

/// What a string names before any file is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    Entry(Entry),
    /// A `.rdp` file, read when it is reached.
    RdpFile(PathBuf),
}

/// Why an item is not a target.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(
        "'{0}': not a valid CIDR range (write it like 10.0.0.0/24, 10.0.0.0/24:3390 or [fd00::/120]:3390)"
    )]
    BadRange(String),
    #[error("'{0}': the port must be a number from 1 to 65535")]
    BadPort(String),
}

/// Parse one item. `default_port` applies when none is written.
pub fn parse(text: &str, default_port: u16) -> Result<Parsed, EntryError> {
    let s = text.trim();
    if super::rdpfile::is_rdp_path(s) {
        return Ok(Parsed::RdpFile(PathBuf::from(s)));
    }
    if s.contains('/') && !s.starts_with("rdp://") {
        return parse_range(s, default_port).map(Parsed::Entry);
    }
    Ok(Parsed::Entry(Entry::One(Target::parse_with_default_port(
        s,
        default_port,
    )?)))
}

fn parse_range(s: &str, default_port: u16) -> Result<Entry, EntryError> {
    let bad = || EntryError::BadRange(s.to_string());
    let (net_text, port) = if let Some(rest) = s.strip_prefix('[') {
        let (net, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(bad)?),
        };
        (net, port)
    } else {
        match s.rsplit_once(':') {
            // `10.0.0.0/24:3390`: the part after the last colon follows the prefix length.
            Some((net, p)) if net.contains('/') && !net.contains(':') => (net, Some(p)),
            _ => (s, None),
        }
    };
    let net: IpNet = net_text.parse().map_err(|_| bad())?;
    let (port, explicit_port) = match port {
        None => (default_port, false),
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => (n, true),
            _ => return Err(EntryError::BadPort(s.to_string())),
        },
    };
    Ok(Entry::Range {
        net: net.trunc(),
        port,
        explicit_port,
    })
}

impl Entry {
    /// How many targets the entry expands to (saturating: `::/0` is 2^128).
    pub fn size(&self) -> u128 {
        match self {
            Entry::One(_) => 1,
            Entry::Range { net, .. } => {
                let bits = u32::from(net.max_prefix_len() - net.prefix_len());
                1u128.checked_shl(bits).unwrap_or(u128::MAX)
            }
        }
    }

    /// The targets, drawn lazily.
    pub fn targets(self) -> Targets {
        match self {
            Entry::One(t) => Targets::One(Some(t)),
            Entry::Range {
                net,
                port,
                explicit_port,
            } => {
                let range = match net {
                    IpNet::V4(n) => IpAddrRange::V4(Ipv4AddrRange::new(n.network(), n.broadcast())),
                    IpNet::V6(n) => IpAddrRange::V6(Ipv6AddrRange::new(n.network(), n.broadcast())),
                };
                Targets::Range {
                    range,
                    port,
                    explicit_port,
                }
            }
        }
    }
}

/// The lazy expansion of one [`Entry`].
pub enum Targets {
    One(Option<Target>),
    Range {
        range: IpAddrRange,
        port: u16,
        explicit_port: bool,
    },
}

impl Iterator for Targets {
    type Item = Target;

    fn next(&mut self) -> Option<Target> {
        match self {
            Targets::One(t) => t.take(),
            Targets::Range {
                range,
                port,
                explicit_port,
            } => range
                .next()
                .map(|ip| address_target(ip, *port, *explicit_port)),
        }
    }
}

/// A member of a range, with `input` written the way a user would have typed it for `check`.
pub fn address_target(ip: IpAddr, port: u16, explicit_port: bool) -> Target {
    let host = ip.to_string();
    let input = match (explicit_port, ip) {
        (false, _) => host.clone(),
        (true, IpAddr::V4(_)) => format!("{host}:{port}"),
        (true, IpAddr::V6(_)) => format!("[{host}]:{port}"),
    };
    Target {
        input,
        host,
        port,
        expected_name: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(s: &str) -> Entry {
        match parse(s, 3389).unwrap() {
            Parsed::Entry(e) => e,
            other => panic!("{other:?}"),
        }
    }

    fn inputs(s: &str) -> Vec<String> {
        entry(s).targets().map(|t| t.input).collect()
    }

    #[test]
    fn ipv4_ranges_expand_to_every_address() {
        assert_eq!(
            inputs("10.0.0.0/30"),
            ["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"]
        );
        assert_eq!(inputs("10.0.0.7/32"), ["10.0.0.7"]);
        assert_eq!(entry("10.0.0.7/32").size(), 1);
        // Host bits are ignored, as nmap does.
        assert_eq!(inputs("10.0.0.6/31"), ["10.0.0.6", "10.0.0.7"]);
        let t: Vec<Target> = entry("192.168.1.0/30:3390").targets().collect();
        assert_eq!(t[1].input, "192.168.1.1:3390");
        assert_eq!((t[1].host.as_str(), t[1].port), ("192.168.1.1", 3390));
    }

    #[test]
    fn ipv6_ranges_expand_to_every_address() {
        assert_eq!(inputs("fd00::/127"), ["fd00::", "fd00::1"]);
        assert_eq!(inputs("fd00::5/128"), ["fd00::5"]);
        let t: Vec<Target> = entry("[fd00::/127]:4000").targets().collect();
        assert_eq!(t[1].input, "[fd00::1]:4000");
        assert_eq!((t[1].host.as_str(), t[1].port), ("fd00::1", 4000));
    }

    #[test]
    fn sizes_are_exact_and_never_overflow() {
        assert_eq!(entry("10.0.0.0/8").size(), 1 << 24);
        assert_eq!(entry("0.0.0.0/0").size(), 1 << 32);
        assert_eq!(entry("::/0").size(), u128::MAX);
        assert_eq!(entry("::/1").size(), 1 << 127);
        assert_eq!(entry("server01").size(), 1);
    }

    #[test]
    fn a_large_range_is_not_expanded_eagerly() {
        let mut t = entry("2001:db8::/32").targets();
        assert_eq!(t.next().unwrap().host, "2001:db8::");
        assert_eq!(t.next().unwrap().host, "2001:db8::1");
    }

    #[test]
    fn hosts_and_rdp_files_are_recognised() {
        assert_eq!(
            entry("server01:3390"),
            Entry::One(Target::parse("server01:3390").unwrap())
        );
        assert_eq!(
            parse("conf/Server 01.RDP", 3389).unwrap(),
            Parsed::RdpFile("conf/Server 01.RDP".into())
        );
        let Entry::One(t) = entry("rdp://host:4000/") else {
            panic!()
        };
        assert_eq!(
            (t.input.as_str(), t.host.as_str(), t.port),
            ("rdp://host:4000/", "host", 4000)
        );
    }

    #[test]
    fn bad_ranges_say_how_to_write_them() {
        assert!(matches!(
            parse("10.0.0.0/33", 3389),
            Err(EntryError::BadRange(_))
        ));
        assert!(matches!(
            parse("10.0.0.0/24:0", 3389),
            Err(EntryError::BadPort(_))
        ));
        assert!(matches!(
            parse("[fd00::/120", 3389),
            Err(EntryError::BadRange(_))
        ));
        assert!(matches!(
            parse("files/list.txt", 3389),
            Err(EntryError::BadRange(_))
        ));
        assert!(matches!(
            parse("bad host", 3389),
            Err(EntryError::Target(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,60}") {
            let _ = parse(&s, 3389);
        }

        #[test]
        fn parse_never_panics_on_range_like_text(s in "[0-9a-f:.\\[\\]/]{0,40}") {
            let _ = parse(&s, 3389);
        }

        #[test]
        fn ipv4_ranges_expand_to_exactly_their_size(a in proptest::prelude::any::<u32>(), prefix in 22u8..=32, port in 1u16..) {
            let text = format!("{}/{prefix}:{port}", std::net::Ipv4Addr::from(a));
            let e = entry(&text);
            let net: ipnet::Ipv4Net = format!("{}/{prefix}", std::net::Ipv4Addr::from(a)).parse().unwrap();
            let targets: Vec<Target> = e.clone().targets().collect();
            proptest::prop_assert_eq!(targets.len() as u128, e.size());
            let mut seen = std::collections::HashSet::new();
            for t in &targets {
                let ip: std::net::Ipv4Addr = t.host.parse().unwrap();
                proptest::prop_assert!(net.contains(&ip));
                proptest::prop_assert_eq!(t.port, port);
                proptest::prop_assert!(seen.insert(ip));
                // The input reads back as the same single target.
                let again = crate::Target::parse(&t.input).unwrap();
                proptest::prop_assert_eq!((again.host, again.port), (t.host.clone(), port));
            }
        }

        #[test]
        fn ipv6_ranges_expand_to_exactly_their_size(a in proptest::prelude::any::<u128>(), prefix in 118u8..=128) {
            let text = format!("{}/{prefix}", std::net::Ipv6Addr::from(a));
            let e = entry(&text);
            let n = e.clone().targets().inspect(|t| assert_eq!(t.port, 3389)).count();
            proptest::prop_assert_eq!(n as u128, e.size());
        }

        #[test]
        fn single_targets_keep_host_and_port(host in "[a-z][a-z0-9-]{0,15}[a-z0-9](\\.[a-z]{2,6})?", port in proptest::option::of(1u16..)) {
            let text = match port { Some(p) => format!("{host}:{p}"), None => host.clone() };
            let Entry::One(t) = entry(&text) else { panic!("{text}") };
            proptest::prop_assert_eq!((t.host, t.port, t.input), (host, port.unwrap_or(3389), text));
        }
    }
}
