#![no_main]
//! X.224 Connection Confirm decoder: never panics; a decoded CC lies inside its frame.

use libfuzzer_sys::fuzz_target;
use rdpdoctor_wire::x224::decode_confirm;

fuzz_target!(|data: &[u8]| {
    if let Ok(cc) = decode_confirm(data) {
        assert!(cc.frame_len <= data.len());
        assert!(usize::from(cc.li) + 5 + cc.user_data_len == cc.frame_len);
    }
});
