#![no_main]
//! TPKT framer: never panics; a complete frame fits the buffer and matches its length field.

use libfuzzer_sys::fuzz_target;
use rdpdoctor_wire::Frame;
use rdpdoctor_wire::tpkt::{MIN_FRAME_LEN, check_start, frame};

fuzz_target!(|data: &[u8]| {
    let _ = check_start(data);
    match frame(data) {
        Ok(Frame::Complete(n)) => {
            assert!(n >= MIN_FRAME_LEN && n <= data.len());
            assert_eq!(usize::from(u16::from_be_bytes([data[2], data[3]])), n);
        }
        Ok(Frame::Need(n)) => assert!(n >= 1),
        Err(_) => {}
    }
});
