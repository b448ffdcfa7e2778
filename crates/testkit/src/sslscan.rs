//! Reading `sslscan --rdp` output, the independent check the TLS enumeration is compared with.

use std::collections::{BTreeMap, BTreeSet};

/// The TLS versions as rdpdoctor and sslscan name them.
pub const VERSIONS: [&str; 4] = ["TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/// The suites sslscan lists as accepted ("Preferred" or "Accepted" lines), by IANA name, per
/// version; every version is present, empty when nothing was accepted under it. A suite the
/// wire crate does not name stays as its hex id.
pub fn accepted_suites(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut map: BTreeMap<String, BTreeSet<String>> = VERSIONS
        .iter()
        .map(|v| (v.to_string(), BTreeSet::new()))
        .collect();
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.len() < 5 || !(t[0] == "Preferred" || t[0] == "Accepted") {
            continue;
        }
        let Some(id) = t
            .iter()
            .find_map(|x| x.strip_prefix("0x"))
            .and_then(|h| u16::from_str_radix(h, 16).ok())
        else {
            continue;
        };
        let name = rdpdoctor_wire::tls::suite_name(id)
            .map(str::to_string)
            .unwrap_or_else(|| format!("0x{id:04X}"));
        map.entry(t[1].to_string()).or_default().insert(name);
    }
    map
}
