#![no_main]
//! TLS server-flight reader: never panics, whatever the bytes and however they are split.
//! The first input byte chooses the chunk size, so split records and messages get explored.

use libfuzzer_sys::fuzz_target;
use rdpdoctor_wire::tls::{FlightLimits, ServerFlightReader};

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(split).max(1);
    // Small limits so the bound checks are reached too.
    let mut r = ServerFlightReader::with_limits(FlightLimits {
        max_bytes: 64 * 1024,
        max_records: 64,
        max_certificates: 8,
    });
    for c in rest.chunks(chunk) {
        if r.push(c).is_err() {
            break;
        }
    }
    let f = r.flight();
    assert!(f.bytes <= rest.len());
    assert!(f.certificates.len() <= 8);
});
