//! MS-RDPEUDP SYN and SYN+ACK against the real captures in ../shared/data/pcap.

mod support;

use rdpdoctor_wire::rdpeudp::{Syn, SynAck, SynEx, flags, version};

/// Rebuild the capture's SYN from its field values and compare all bytes; return its ISN.
fn check_syn(payload: &[u8], expected_version: u16) -> u32 {
    assert_eq!(payload.len(), 1232);
    let isn = u32::from_be_bytes(payload[8..12].try_into().unwrap());
    let mut corr = [0; 16];
    corr.copy_from_slice(&payload[16..32]);
    let syn = Syn {
        receive_window: 64,
        initial_sequence_number: isn,
        up_mtu: 1232,
        down_mtu: 1232,
        lossy: false,
        correlation_id: Some(corr),
        synex: Some(SynEx {
            flags: 1,
            version: expected_version,
            cookie_hash: (expected_version == version::V3).then_some([0; 32]),
        }),
        datagram_len: 1232,
    };
    assert_eq!(syn.flags(), 0x1801);
    assert_eq!(syn.encode(), payload, "all 1232 bytes");
    assert_eq!(Syn::decode(payload).unwrap(), syn);
    isn
}

fn check_syn_ack(payload: &[u8], isn: u32, negotiated: u16) {
    let sa = SynAck::decode_for(payload, isn).unwrap();
    assert_eq!(sa.flags, flags::SYN | flags::ACK | flags::SYNEX);
    assert_eq!(sa.receive_window, 64);
    assert_eq!((sa.up_mtu, sa.down_mtu), (1232, 1232));
    assert!(sa.mtus_in_spec());
    assert_eq!(sa.version(), negotiated);
    assert_eq!(sa.datagram_len, 1232);
    assert_eq!(sa.encode(), payload, "re-encodes byte for byte");
}

#[test]
fn v1_v2_handshake_negotiates_down_to_version_2() {
    let Some(cap) = support::load("rdpeudp-handshake-success.pcap") else {
        return;
    };
    // The client advertised uUdpVer 0x0003 (undefined); the server answered version 2.
    let isn = check_syn(&cap.udp[0].payload, 0x0003);
    assert_eq!(isn, 0x0b12_7f15);
    assert_eq!(cap.udp[1].src.port(), 3389);
    check_syn_ack(&cap.udp[1].payload, isn, version::V2);
}

#[test]
fn rdpeudp2_handshake_with_cookie_hash() {
    let Some(cap) = support::load("rdpeudp2-handshake-success.pcap") else {
        return;
    };
    let isn = check_syn(&cap.udp[0].payload, version::V3);
    assert_eq!(isn, 0xa7eb_5da4);
    check_syn_ack(&cap.udp[1].payload, isn, version::V3);
}

#[test]
fn unanswered_syn_is_retransmitted_unchanged() {
    let Some(cap) = support::load("rdpeudp-handshake-fail.pcap") else {
        return;
    };
    assert_eq!(cap.udp.len(), 3);
    let isn = check_syn(&cap.udp[0].payload, version::V2);
    assert_eq!(isn, 0xee40_71dc);
    for d in &cap.udp {
        assert_eq!(d.payload, cap.udp[0].payload);
        assert!(
            SynAck::decode(&d.payload).is_err(),
            "a SYN is not a SYN+ACK"
        );
    }
}
