#![no_main]
//! NTLM CHALLENGE decoder: never panics; what it decodes re-encodes to an equal message.

use libfuzzer_sys::fuzz_target;
use rdpdoctor_wire::ntlm::{NtlmChallenge, flags};

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = NtlmChallenge::decode(data) {
        // The encoder writes VERSION exactly when the flag is set, so the round trip is only
        // exact when the decoded message had the same shape.
        if c.version.is_some() == (c.flags & flags::VERSION != 0) {
            let again = NtlmChallenge::decode(&c.encode()).expect("re-encoded challenge decodes");
            assert_eq!(again, c);
        }
    }
});
