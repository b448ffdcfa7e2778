//! Registry evidence: `.reg` exports ([`regtext`]) and binary hives ([`hive`]) feed one
//! [`RegistryCollector`], which keeps only the values that matter for RDP (REFERENCE.md §6),
//! remembers where each came from, and resolves each setting to the value Windows uses: a
//! Group Policy copy under `SOFTWARE\Policies` wins over the listener's own value.
//!
//! Keys are normalised to `HKLM\SYSTEM\CurrentControlSet\...`: an export or hive that names
//! `ControlSet001` is mapped to the current control set (the one `Select\Current` names when
//! known), and a value read from the literal `CurrentControlSet` wins over a numbered copy.

pub(crate) mod hive;
pub(crate) mod regtext;

use crate::evidence::{
    ProtocolState, RegValue, RegistryEvidence, RegistrySetting, SchannelProtocol, SettingOrigin,
    SourcedValue,
};

const TS: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server";
const WINSTATIONS: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations";
const RDP_TCP: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp";
const TS_POLICY: &str = r"HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services";
const TS_CLIENT_POLICY: &str =
    r"HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services\Client";
const CREDSSP: &str =
    r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\CredSSP\Parameters";
const FIPS: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa\FIPSAlgorithmPolicy";
const CIPHER_LOCAL: &str =
    r"HKLM\SYSTEM\CurrentControlSet\Control\Cryptography\Configuration\Local\SSL\00010002";
const CIPHER_POLICY: &str =
    r"HKLM\SOFTWARE\Policies\Microsoft\Cryptography\Configuration\SSL\00010002";
const COMPUTER_NAME: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName";
const TCPIP: &str = r"HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters";
pub(crate) const SCHANNEL_PROTOCOLS: &str =
    r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols";

/// One setting: its name in the evidence, and where its local and policy copies live.
struct Def {
    name: &'static str,
    local: Option<(&'static str, &'static str)>,
    policy: Option<(&'static str, &'static str)>,
}

const fn local(name: &'static str, key: &'static str) -> Def {
    Def {
        name,
        local: Some((key, name)),
        policy: None,
    }
}

const fn both(name: &'static str, key: &'static str, policy: &'static str) -> Def {
    Def {
        name,
        local: Some((key, name)),
        policy: Some((policy, name)),
    }
}

const fn policy(name: &'static str, key: &'static str) -> Def {
    Def {
        name,
        local: None,
        policy: Some((key, name)),
    }
}

/// The settings rdpdoctor reads, in the order they are reported.
const DEFS: &[Def] = &[
    both("fDenyTSConnections", TS, TS_POLICY),
    local("TSEnabled", TS),
    local("TSServerDrainMode", TS),
    local("TSUserEnabled", TS),
    local("MaxOutstandingConnections", TS),
    local("PortNumber", RDP_TCP),
    both("SecurityLayer", RDP_TCP, TS_POLICY),
    both("UserAuthentication", RDP_TCP, TS_POLICY),
    both("MinEncryptionLevel", RDP_TCP, TS_POLICY),
    local("SSLCertificateSHA1Hash", RDP_TCP),
    local("fEnableWinStation", RDP_TCP),
    local("fLogonDisabled", RDP_TCP),
    local("fAllowSecProtocolNegotiation", RDP_TCP),
    both("MaxInstanceCount", RDP_TCP, TS_POLICY),
    local("SelfSignedCertStore", WINSTATIONS),
    local("fUseUdpPortRedirector", WINSTATIONS),
    local("UdpPortNumber", WINSTATIONS),
    policy("SelectTransport", TS_POLICY),
    policy("SelectNetworkDetect", TS_POLICY),
    policy("fClientDisableUDP", TS_CLIENT_POLICY),
    policy("AllowEncryptionOracle", CREDSSP),
    Def {
        name: "FIPSAlgorithmPolicy",
        local: Some((FIPS, "Enabled")),
        policy: None,
    },
    Def {
        name: "SSLCipherSuiteOrder",
        local: Some((CIPHER_LOCAL, "Functions")),
        policy: Some((CIPHER_POLICY, "Functions")),
    },
    Def {
        name: "ComputerName",
        local: Some((COMPUTER_NAME, "ComputerName")),
        policy: None,
    },
    Def {
        name: "Hostname",
        local: Some((TCPIP, "Hostname")),
        policy: None,
    },
    Def {
        name: "Domain",
        local: Some((TCPIP, "Domain")),
        policy: None,
    },
];

/// Every key whose values are worth reading (for the hive reader, which pulls rather than
/// being pushed everything).
pub(crate) fn watched_keys() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for d in DEFS {
        for (k, _) in d.local.iter().chain(d.policy.iter()) {
            if !v.contains(k) {
                v.push(k);
            }
        }
    }
    v
}

/// Read a .reg export into the collector.
pub(crate) fn read_reg(
    bytes: &[u8],
    file: &str,
    c: &mut RegistryCollector,
) -> regtext::RegTextSummary {
    struct Sink<'a> {
        c: &'a mut RegistryCollector,
        file: &'a str,
    }
    impl regtext::RegSink for Sink<'_> {
        fn key(&mut self, key: &str) {
            self.c.key(key, self.file);
        }
        fn value(&mut self, key: &str, name: &str, value: RegValue) {
            self.c.value(key, name, value, self.file);
        }
    }
    let text = regtext::decode(bytes);
    regtext::parse(&text, &mut Sink { c, file })
}

/// Read the RDP-related keys of a SYSTEM or SOFTWARE hive into the collector. Returns a
/// warning when the hive is dirty.
pub(crate) fn read_hive(
    data: &[u8],
    file: &str,
    c: &mut RegistryCollector,
) -> Result<Option<String>, String> {
    let h = hive::Hive::parse(data)?;
    let mut offer = |h: &hive::Hive<'_>, key: &hive::Key, canonical: &str| {
        c.key(canonical, file);
        for (name, value) in h.values(key) {
            c.value(canonical, &name, value, file);
        }
    };
    match hive::kind(&h) {
        hive::HiveKind::System => {
            let cs = hive::current_control_set(&h);
            let cs_name = format!("ControlSet{cs:03}");
            for key in watched_keys() {
                let Some(rest) = key.strip_prefix(r"HKLM\SYSTEM\CurrentControlSet\") else {
                    continue;
                };
                if let Some(k) = h.open(&format!(r"{cs_name}\{rest}")) {
                    offer(&h, &k, &format!(r"HKLM\SYSTEM\{cs_name}\{rest}"));
                }
            }
            let protocols = SCHANNEL_PROTOCOLS
                .strip_prefix(r"HKLM\SYSTEM\CurrentControlSet\")
                .unwrap_or_default();
            if let Some(pk) = h.open(&format!(r"{cs_name}\{protocols}")) {
                for proto in h.subkeys(&pk).into_iter().take(MAX_PROTOCOL_KEYS) {
                    for role in h.subkeys(&proto).into_iter().take(4) {
                        offer(
                            &h,
                            &role,
                            &format!(
                                r"HKLM\SYSTEM\{cs_name}\{protocols}\{}\{}",
                                proto.name, role.name
                            ),
                        );
                    }
                }
            }
            c.current_control_set = Some(cs);
        }
        hive::HiveKind::Software => {
            for key in watched_keys() {
                let Some(rest) = key.strip_prefix(r"HKLM\SOFTWARE\") else {
                    continue;
                };
                if let Some(k) = h.open(rest) {
                    offer(&h, &k, key);
                }
            }
        }
        hive::HiveKind::Other => {
            return Err(format!(
                "a registry hive, but neither SYSTEM nor SOFTWARE ({}); nothing read",
                if h.embedded_name.is_empty() {
                    "no name recorded"
                } else {
                    &h.embedded_name
                }
            ));
        }
    }
    Ok(h.dirty.then(|| {
        "the hive was copied while in use (its sequence numbers differ); changes still in its .LOG1/.LOG2 transaction logs are not applied, so values may be slightly stale".to_string()
    }))
}

/// A key path split into its normalised form and the numbered control set it named, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CanonicalKey {
    /// Upper case, `HKLM\SYSTEM\CURRENTCONTROLSET\...`, for matching.
    pub upper: String,
    /// `Some(1)` for `ControlSet001`, `None` for the literal `CurrentControlSet` or outside SYSTEM.
    pub control_set: Option<u32>,
}

/// Normalise a key path from an export (`HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\...`).
pub(crate) fn canonical_key(raw: &str) -> CanonicalKey {
    let mut parts: Vec<String> = raw
        .split('\\')
        .filter(|p| !p.is_empty())
        .map(|p| p.trim().to_ascii_uppercase())
        .collect();
    if let Some(root) = parts.first_mut() {
        match root.as_str() {
            "HKEY_LOCAL_MACHINE" => *root = "HKLM".into(),
            "HKEY_CURRENT_USER" => *root = "HKCU".into(),
            _ => {}
        }
    }
    let mut control_set = None;
    if parts.len() >= 3
        && parts[0] == "HKLM"
        && parts[1] == "SYSTEM"
        && let Some(n) = parts[2].strip_prefix("CONTROLSET")
        && n.len() == 3
        && n.chars().all(|c| c.is_ascii_digit())
    {
        control_set = n.parse().ok();
        parts[2] = "CURRENTCONTROLSET".into();
    }
    CanonicalKey {
        upper: parts.join("\\"),
        control_set,
    }
}

/// A value kept, with its source.
#[derive(Clone, Debug)]
struct Kept {
    setting: &'static str,
    is_policy: bool,
    key: &'static str,
    control_set: Option<u32>,
    value: RegValue,
    file: String,
    order: u64,
}

#[derive(Clone, Debug)]
struct ProtocolValues {
    protocol: String,
    role: String,
    control_set: Option<u32>,
    enabled: Option<u32>,
    disabled_by_default: Option<u32>,
    key: String,
    file: String,
}

/// Bound on SCHANNEL protocol keys kept (a hostile export could name thousands).
const MAX_PROTOCOL_KEYS: usize = 64;

/// Gathers registry values from any number of files for one host.
#[derive(Default)]
pub(crate) struct RegistryCollector {
    kept: Vec<Kept>,
    protocols: Vec<ProtocolValues>,
    /// `Select\Current` of a SYSTEM hive or export.
    pub current_control_set: Option<u32>,
    order: u64,
}

impl RegistryCollector {
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty() && self.protocols.is_empty()
    }

    /// Take everything another collector gathered (files of one host from several bundles).
    pub fn absorb(&mut self, other: RegistryCollector) {
        for mut k in other.kept {
            self.order += 1;
            k.order = self.order;
            self.kept.push(k);
        }
        for p in other.protocols {
            if self.protocols.len() < MAX_PROTOCOL_KEYS * 4 {
                self.protocols.push(p);
            }
        }
        if self.current_control_set.is_none() {
            self.current_control_set = other.current_control_set;
        }
    }

    fn best_string(&self, setting: &str) -> Option<String> {
        self.kept
            .iter()
            .filter(|k| k.setting == setting)
            .max_by_key(|k| self.rank(k.control_set, k.order))
            .and_then(|k| k.value.as_str().map(str::to_string))
            .filter(|s| !s.trim().is_empty())
    }

    /// The computer's name: `Hostname.Domain` from Tcpip\Parameters, else `ComputerName`.
    pub fn computer_name(&self) -> Option<String> {
        match (self.best_string("Hostname"), self.best_string("Domain")) {
            (Some(h), Some(d)) => Some(format!("{h}.{d}")),
            (Some(h), None) => Some(h),
            _ => self.best_string("ComputerName"),
        }
    }

    /// A key was seen (it may have no values: an empty SCHANNEL protocol key still says the
    /// protocol was touched).
    pub fn key(&mut self, raw_key: &str, file: &str) {
        let ck = canonical_key(raw_key);
        self.protocol_slot(&ck, raw_key, file);
    }

    /// Offer one value; it is kept only if rdpdoctor reads it.
    pub fn value(&mut self, raw_key: &str, name: &str, value: RegValue, file: &str) {
        let ck = canonical_key(raw_key);
        if ck.upper == r"HKLM\SYSTEM\SELECT" && name.eq_ignore_ascii_case("Current") {
            if let Some(n) = value.as_dword() {
                self.current_control_set = Some(n);
            }
            return;
        }
        if let Some(i) = self.protocol_slot(&ck, raw_key, file) {
            let p = &mut self.protocols[i];
            if name.eq_ignore_ascii_case("Enabled") {
                p.enabled = value.as_dword();
            } else if name.eq_ignore_ascii_case("DisabledByDefault") {
                p.disabled_by_default = value.as_dword();
            }
            return;
        }
        for def in DEFS {
            for (is_policy, loc) in [(false, def.local), (true, def.policy)] {
                let Some((key, vname)) = loc else { continue };
                if ck.upper.eq_ignore_ascii_case(key) && name.eq_ignore_ascii_case(vname) {
                    self.order += 1;
                    let order = self.order;
                    let file = file.to_string();
                    // One slot per (setting, copy, control set, file): repeats replace.
                    match self.kept.iter_mut().find(|k| {
                        k.setting == def.name
                            && k.is_policy == is_policy
                            && k.control_set == ck.control_set
                            && k.file == file
                    }) {
                        Some(k) => {
                            k.value = value.clone();
                            k.order = order;
                        }
                        None => self.kept.push(Kept {
                            setting: def.name,
                            is_policy,
                            key,
                            control_set: ck.control_set,
                            value: value.clone(),
                            file,
                            order,
                        }),
                    }
                }
            }
        }
    }

    /// The index of the SCHANNEL protocol entry a key belongs to, creating it.
    fn protocol_slot(&mut self, ck: &CanonicalKey, raw_key: &str, file: &str) -> Option<usize> {
        let prefix = SCHANNEL_PROTOCOLS.to_ascii_uppercase();
        let rest = ck.upper.strip_prefix(&prefix)?.strip_prefix('\\')?;
        let mut parts = rest.split('\\');
        let proto_upper = parts.next()?;
        let role_upper = parts.next()?;
        if parts.next().is_some() || !(role_upper == "SERVER" || role_upper == "CLIENT") {
            return None;
        }
        // Keep the spelling of the export (`TLS 1.2`, `Server`).
        let raw_parts: Vec<&str> = raw_key.split('\\').filter(|p| !p.is_empty()).collect();
        let n = raw_parts.len();
        let (protocol, role) = if n >= 2 {
            (raw_parts[n - 2].to_string(), raw_parts[n - 1].to_string())
        } else {
            (proto_upper.to_string(), role_upper.to_string())
        };
        if let Some(i) = self.protocols.iter().position(|p| {
            p.protocol.eq_ignore_ascii_case(&protocol)
                && p.role.eq_ignore_ascii_case(&role)
                && p.control_set == ck.control_set
                && p.file == file
        }) {
            return Some(i);
        }
        if self.protocols.len() >= MAX_PROTOCOL_KEYS {
            return None;
        }
        let key = format!(r"{SCHANNEL_PROTOCOLS}\{protocol}\{role}");
        self.protocols.push(ProtocolValues {
            protocol,
            role,
            control_set: ck.control_set,
            enabled: None,
            disabled_by_default: None,
            key,
            file: file.to_string(),
        });
        Some(self.protocols.len() - 1)
    }

    /// How much a copy is preferred: the literal CurrentControlSet, then the control set
    /// `Select\Current` names, then ControlSet001, then any other; later files win ties.
    fn rank(&self, control_set: Option<u32>, order: u64) -> (u8, u64) {
        let r = match control_set {
            None => 3,
            Some(n) if Some(n) == self.current_control_set => 2,
            Some(1) if self.current_control_set.is_none() => 2,
            Some(_) => 1,
        };
        (r, order)
    }

    /// Resolve every setting.
    pub fn finish(self) -> RegistryEvidence {
        let mut ev = RegistryEvidence {
            control_set: self
                .current_control_set
                .map(|n| format!("ControlSet{n:03}")),
            ..Default::default()
        };
        for def in DEFS {
            let best = |is_policy: bool| {
                self.kept
                    .iter()
                    .filter(|k| k.setting == def.name && k.is_policy == is_policy)
                    .max_by_key(|k| self.rank(k.control_set, k.order))
                    .map(|k| SourcedValue {
                        value: k.value.clone(),
                        key: k.key.to_string(),
                        file: k.file.clone(),
                    })
            };
            let local = best(false);
            let policy = best(true);
            let (effective, origin) = match (&policy, &local) {
                (Some(p), _) => (p.value.clone(), SettingOrigin::Policy),
                (None, Some(l)) => (l.value.clone(), SettingOrigin::Local),
                (None, None) => continue,
            };
            match def.name {
                // Identity, not configuration: reported as `computer_name`.
                "ComputerName" | "Hostname" | "Domain" => continue,
                _ => {}
            }
            ev.settings.push(RegistrySetting {
                name: def.name.to_string(),
                effective,
                origin,
                local,
                policy,
            });
        }
        ev.computer_name = self.computer_name();

        // SCHANNEL: one entry per (protocol, role), best copy.
        let mut protocols: Vec<&ProtocolValues> = Vec::new();
        for p in &self.protocols {
            match protocols.iter_mut().find(|q| {
                q.protocol.eq_ignore_ascii_case(&p.protocol) && q.role.eq_ignore_ascii_case(&p.role)
            }) {
                Some(q) => {
                    if self.rank(p.control_set, 0) >= self.rank(q.control_set, 0) {
                        *q = p;
                    }
                }
                None => protocols.push(p),
            }
        }
        ev.schannel_protocols = protocols
            .into_iter()
            .map(|p| SchannelProtocol {
                protocol: p.protocol.clone(),
                role: p.role.clone(),
                enabled: p.enabled,
                disabled_by_default: p.disabled_by_default,
                state: protocol_state(p.enabled, p.disabled_by_default),
                key: p.key.clone(),
                file: p.file.clone(),
            })
            .collect();
        ev.schannel_protocols
            .sort_by(|a, b| (&a.protocol, &a.role).cmp(&(&b.protocol, &b.role)));
        ev
    }
}

/// What Enabled / DisabledByDefault mean together (REFERENCE.md §6.1).
pub(crate) fn protocol_state(
    enabled: Option<u32>,
    disabled_by_default: Option<u32>,
) -> ProtocolState {
    match (enabled, disabled_by_default) {
        (Some(0), _) => ProtocolState::Disabled,
        (_, Some(d)) if d != 0 => ProtocolState::DisabledByDefault,
        (Some(_), _) | (_, Some(_)) => ProtocolState::Enabled,
        (None, None) => ProtocolState::OsDefault,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_sets_are_normalised() {
        let k = canonical_key(r"HKEY_LOCAL_MACHINE\SYSTEM\ControlSet002\Control\Terminal Server");
        assert_eq!(
            k.upper,
            r"HKLM\SYSTEM\CURRENTCONTROLSET\CONTROL\TERMINAL SERVER"
        );
        assert_eq!(k.control_set, Some(2));
        let k = canonical_key(r"HKLM\SYSTEM\CurrentControlSet\Control");
        assert_eq!(k.control_set, None);
    }

    #[test]
    fn policy_wins_and_current_control_set_wins() {
        let mut c = RegistryCollector::default();
        c.value(
            r"HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control\Terminal Server\WinStations\RDP-Tcp",
            "SecurityLayer",
            RegValue::Dword(1),
            "a.reg",
        );
        c.value(
            r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp",
            "securitylayer",
            RegValue::Dword(2),
            "a.reg",
        );
        c.value(
            r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services",
            "SecurityLayer",
            RegValue::Dword(0),
            "b.reg",
        );
        c.value(
            r"HKLM\SOFTWARE\Unrelated",
            "SecurityLayer",
            RegValue::Dword(9),
            "b.reg",
        );
        let ev = c.finish();
        let s = ev.setting("SecurityLayer").unwrap();
        assert_eq!(s.effective, RegValue::Dword(0));
        assert_eq!(s.origin, SettingOrigin::Policy);
        assert_eq!(s.local.as_ref().unwrap().value, RegValue::Dword(2));
        assert_eq!(s.policy.as_ref().unwrap().file, "b.reg");
        assert_eq!(ev.settings.len(), 1);
    }

    #[test]
    fn schannel_states() {
        let mut c = RegistryCollector::default();
        let base = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols";
        c.value(
            &format!(r"{base}\TLS 1.2\Server"),
            "Enabled",
            RegValue::Dword(0),
            "f",
        );
        c.value(
            &format!(r"{base}\TLS 1.0\Server"),
            "Enabled",
            RegValue::Dword(1),
            "f",
        );
        c.value(
            &format!(r"{base}\TLS 1.0\Server"),
            "DisabledByDefault",
            RegValue::Dword(1),
            "f",
        );
        c.key(&format!(r"{base}\TLS 1.1\Client"), "f");
        let ev = c.finish();
        assert_eq!(
            ev.protocol("TLS 1.2", "Server").unwrap().state,
            ProtocolState::Disabled
        );
        assert_eq!(
            ev.protocol("tls 1.0", "server").unwrap().state,
            ProtocolState::DisabledByDefault
        );
        assert_eq!(
            ev.protocol("TLS 1.1", "Client").unwrap().state,
            ProtocolState::OsDefault
        );
    }

    #[test]
    fn computer_name_prefers_the_fqdn() {
        let mut c = RegistryCollector::default();
        c.value(
            r"HKLM\SYSTEM\ControlSet001\Control\ComputerName\ComputerName",
            "ComputerName",
            RegValue::String("SRV01".into()),
            "SYSTEM",
        );
        assert_eq!(c.finish().computer_name.as_deref(), Some("SRV01"));
        let mut c = RegistryCollector::default();
        c.value(
            r"HKLM\SYSTEM\ControlSet001\Services\Tcpip\Parameters",
            "Hostname",
            RegValue::String("srv01".into()),
            "S",
        );
        c.value(
            r"HKLM\SYSTEM\ControlSet001\Services\Tcpip\Parameters",
            "Domain",
            RegValue::String("contoso.com".into()),
            "S",
        );
        assert_eq!(
            c.finish().computer_name.as_deref(),
            Some("srv01.contoso.com")
        );
    }
}
