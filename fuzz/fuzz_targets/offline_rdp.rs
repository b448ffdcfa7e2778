//! .rdp connection files from hostile bytes. `cargo +nightly fuzz run offline_rdp`
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdpdoctor_core::offline::parse_rdp;

fuzz_target!(|data: &[u8]| {
    let f = parse_rdp(data, "fuzz.rdp");
    assert!(f.settings.keys().all(|k| !k.contains("password")));
    let _ = f.target();
    let _ = f.offers_credssp();
});
