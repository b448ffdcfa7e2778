//! CredSSP without credentials, as a probe sees it: the TSRequest version and the NTLM
//! CHALLENGE, read by a hand-written client here and by nmap's rdp-ntlm-info.

mod common;

use std::io::Write as _;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::tools;
use rdpdoctor_lab::{Lab, Scenario};

/// What the server's first TSRequest says.
#[derive(Debug)]
struct Challenge {
    version: u8,
    flags: u32,
    target_name: String,
    av: Vec<(u16, Vec<u8>)>,
    os_version: [u8; 8],
}

fn utf16(b: &[u8]) -> String {
    String::from_utf16_lossy(
        &b.chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect::<Vec<_>>(),
    )
}

fn field(msg: &[u8], at: usize) -> &[u8] {
    let len = usize::from(u16::from_le_bytes([msg[at], msg[at + 1]]));
    let off = u32::from_le_bytes(msg[at + 4..at + 8].try_into().unwrap()) as usize;
    &msg[off..off + len]
}

fn parse(ts_request: &[u8]) -> Challenge {
    // 30 LL a0 03 02 01 VV ...: the version comes first.
    let body = if ts_request[1] & 0x80 != 0 {
        &ts_request[2 + usize::from(ts_request[1] & 0x7f)..]
    } else {
        &ts_request[2..]
    };
    assert_eq!(&body[..4], &[0xa0, 0x03, 0x02, 0x01], "version [0] INTEGER");
    let version = body[4];
    let at = ts_request
        .windows(8)
        .position(|w| w == b"NTLMSSP\0")
        .expect("an NTLM token");
    let msg = &ts_request[at..];
    assert_eq!(
        u32::from_le_bytes(msg[8..12].try_into().unwrap()),
        2,
        "CHALLENGE"
    );
    let mut av = Vec::new();
    let mut info = field(msg, 40);
    while info.len() >= 4 {
        let id = u16::from_le_bytes([info[0], info[1]]);
        let len = usize::from(u16::from_le_bytes([info[2], info[3]]));
        av.push((id, info[4..4 + len].to_vec()));
        info = &info[4 + len..];
        if id == 0 {
            break;
        }
    }
    Challenge {
        version,
        flags: u32::from_le_bytes(msg[20..24].try_into().unwrap()),
        target_name: utf16(field(msg, 12)),
        av,
        os_version: msg[48..56].try_into().unwrap(),
    }
}

fn challenge(lab: &Lab, scenario: &Scenario, client_version: u8) -> Challenge {
    let (reply, stream) = common::x224(common::addr(lab, scenario), 0xb);
    assert_eq!(reply[15], 0x08, "HYBRID_EX selected");
    let (config, _) = common::capturing_config();
    let mut tls = common::tls_handshake(stream, config, "localhost").unwrap();
    tls.write_all(&common::ts_request_negotiate(client_version))
        .unwrap();
    tls.flush().unwrap();
    parse(&common::read_der(&mut tls, 64 * 1024).unwrap())
}

#[test]
fn the_challenge_names_a_windows_server_2022_domain_member() {
    let lab = common::lab(&[Scenario::Healthy]);
    let c = challenge(&lab, &Scenario::Healthy, 6);
    assert_eq!(c.version, 6);
    assert_eq!(c.target_name, "RDPLAB");
    let text = |id: u16| utf16(&c.av.iter().find(|(i, _)| *i == id).expect("AV pair").1);
    assert_eq!(text(2), "RDPLAB");
    assert_eq!(text(1), "LABSRV01");
    assert_eq!(text(4), "rdplab.test");
    assert_eq!(text(3), "labsrv01.rdplab.test");
    assert_eq!(text(5), "rdplab.test");
    // Windows' order, then MsvAvTimestamp and MsvAvEOL.
    let ids: Vec<u16> = c.av.iter().map(|(i, _)| *i).collect();
    assert_eq!(ids, [2, 1, 4, 3, 5, 7, 0]);
    let filetime = u64::from_le_bytes(c.av[5].1.clone().try_into().unwrap());
    let unix = filetime / 10_000_000 - 11_644_473_600;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(unix.abs_diff(now) < 60, "timestamp is now");
    // 10.0.20348, NTLM revision 15.
    assert_eq!(c.os_version, [10, 0, 0x7c, 0x4f, 0, 0, 0, 0x0f]);
    // UNICODE, NTLM, TARGET_TYPE_DOMAIN, TARGET_INFO, VERSION, and the client's SEAL/KEY_EXCH.
    for bit in [
        0x1,
        0x200,
        0x1_0000,
        0x80_0000,
        0x200_0000,
        0x20,
        0x4000_0000,
    ] {
        assert_eq!(c.flags & bit, bit, "flag {bit:#x} in {:#x}", c.flags);
    }
}

#[test]
fn the_tsrequest_version_is_the_scenarios() {
    let v5 = Scenario::Credssp { version: 5 };
    let lab = common::lab(&[
        Scenario::Healthy,
        Scenario::CREDSSP_OLD,
        v5.clone(),
        Scenario::NlaRequired,
    ]);
    assert_eq!(challenge(&lab, &Scenario::Healthy, 6).version, 6);
    // A server answers with its own version whatever the client's (FreeRDP's server does too).
    assert_eq!(challenge(&lab, &Scenario::Healthy, 2).version, 6);
    assert_eq!(challenge(&lab, &Scenario::CREDSSP_OLD, 6).version, 4);
    assert_eq!(challenge(&lab, &v5, 6).version, 5);
    assert_eq!(challenge(&lab, &Scenario::NlaRequired, 6).version, 6);
}

fn nmap(lab: &Lab, scenario: &Scenario, scripts: &str) -> Option<String> {
    let nmap = tools::tool("nmap")?;
    let port = common::addr(lab, scenario).port().to_string();
    let out = tools::run(
        Command::new(nmap).args(["-Pn", "-n", "-p", &port, "--script", scripts, "127.0.0.1"]),
        Duration::from_secs(120),
    );
    let text = tools::text(&out);
    eprintln!("nmap {scenario}:\n{text}");
    assert!(out.status.success());
    Some(text)
}

#[test]
fn nmap_rdp_ntlm_info_reads_the_lab_host() {
    let lab = common::lab(&[
        Scenario::Healthy,
        Scenario::CREDSSP_OLD,
        Scenario::NlaRequired,
    ]);
    for scenario in [
        Scenario::Healthy,
        Scenario::CREDSSP_OLD,
        Scenario::NlaRequired,
    ] {
        let Some(text) = nmap(&lab, &scenario, "+rdp-ntlm-info") else {
            return;
        };
        for line in [
            "Target_Name: RDPLAB",
            "NetBIOS_Domain_Name: RDPLAB",
            "NetBIOS_Computer_Name: LABSRV01",
            "DNS_Domain_Name: rdplab.test",
            "DNS_Computer_Name: labsrv01.rdplab.test",
            "DNS_Tree_Name: rdplab.test",
            "Product_Version: 10.0.20348",
            "System_Time: ",
        ] {
            assert!(text.contains(line), "{scenario}: missing {line}");
        }
    }
}

#[test]
fn nmap_rdp_enum_encryption_sees_the_security_layers() {
    let lab = common::lab(&[Scenario::NlaRequired, Scenario::TlsOnly]);
    let Some(nla) = nmap(
        &lab,
        &Scenario::NlaRequired,
        "+rdp-enum-encryption,+rdp-ntlm-info",
    ) else {
        return;
    };
    assert!(nla.contains("CredSSP (NLA): SUCCESS"));
    assert!(nla.contains("CredSSP with Early User Auth: SUCCESS"));
    assert!(!nla.contains("SSL: SUCCESS"), "SSL requests are refused");
    let tls = nmap(
        &lab,
        &Scenario::TlsOnly,
        "+rdp-enum-encryption,+rdp-ntlm-info",
    )
    .unwrap();
    assert!(tls.contains("SSL: SUCCESS"));
    // No NLA: no NTLM to read. (rdp-enum-encryption also reports "CredSSP (NLA): SUCCESS"
    // here because it does not check selectedProtocol; LAB.md §4.)
    assert!(!tls.contains("rdp-ntlm-info"));
}
