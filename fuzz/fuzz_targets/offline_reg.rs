//! Registry evidence from hostile bytes: the .reg text parser and the hive reader.
//! `cargo +nightly fuzz run offline_reg`
#![no_main]

use libfuzzer_sys::fuzz_target;
use rdpdoctor_core::offline::{parse_hive, parse_reg_export};

fuzz_target!(|data: &[u8]| {
    let r = parse_reg_export(data, "fuzz.reg");
    assert!(r.problems.len() <= 10);
    // The same bytes as a hive: make them start like one so the reader gets past the
    // signature check and into the cells.
    if data.len() > 4 {
        let mut hive = b"regf".to_vec();
        hive.extend_from_slice(&data[4..]);
        let _ = parse_hive(&hive, "fuzz-SYSTEM");
    }
});
