#![no_main]
//! TSRequest prefix reader and decoder: never panic; decode(encode(decode(x))) is stable.

use libfuzzer_sys::fuzz_target;
use rdpdoctor_wire::Frame;
use rdpdoctor_wire::tsrequest::{MAX_MESSAGE_LEN, TsRequest, frame};

fuzz_target!(|data: &[u8]| {
    if let Ok(Frame::Complete(n)) = frame(data) {
        assert!(n <= data.len() && n <= MAX_MESSAGE_LEN);
        if let Ok(req) = TsRequest::decode(&data[..n]) {
            let again = TsRequest::decode(&req.encode()).expect("re-encoded TSRequest decodes");
            assert_eq!(again, req);
        }
    }
    let _ = TsRequest::decode(data);
});
