#![no_main]
//! MS-RDPEUDP SYN+ACK (and SYN) decoders: never panic; decoded datagrams re-encode equal.

use libfuzzer_sys::fuzz_target;
use rdpdoctor_wire::rdpeudp::{Syn, SynAck};

fuzz_target!(|data: &[u8]| {
    if let Ok(sa) = SynAck::decode(data) {
        assert_eq!(SynAck::decode(&sa.encode()).expect("re-encoded SYN+ACK decodes"), sa);
    }
    if let Ok(s) = Syn::decode(data) {
        assert_eq!(Syn::decode(&s.encode()).expect("re-encoded SYN decodes"), s);
    }
});
