//! Transport faults, seen from a raw TCP client.

mod common;

use std::io::{ErrorKind, Read as _, Write as _};
use std::time::{Duration, Instant};

use rdpdoctor_lab::Scenario;

#[test]
fn silent_accepts_and_never_answers() {
    let lab = common::lab(&[Scenario::Silent]);
    let mut s = common::connect(common::addr(&lab, &Scenario::Silent));
    s.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    s.write_all(&common::connection_request(0xb)).unwrap();
    let mut buf = [0u8; 64];
    let err = s.read(&mut buf).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
}

#[test]
fn slow_sends_one_byte_per_interval() {
    let fast_slow = Scenario::Slow {
        byte_interval: Duration::from_millis(40),
    };
    let lab = common::lab(&[Scenario::SLOW, fast_slow.clone()]);

    // At 40 ms per byte the whole Connection Confirm (19 bytes) takes about 0.76 s.
    let start = Instant::now();
    let (reply, _) = common::x224(common::addr(&lab, &fast_slow), 0xb);
    let took = start.elapsed();
    assert_eq!(
        common::hex(&reply),
        "030000130ed00000123400021f080008000000"
    );
    assert!(took >= Duration::from_millis(700), "{took:?}");

    // The default: one byte per second. After 2.5 s a client has about 2 bytes of 19 (1 to 3
    // on a loaded machine), the first after a full second.
    let mut s = common::connect(common::addr(&lab, &Scenario::SLOW));
    s.write_all(&common::connection_request(3)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    let mut first_at = None;
    while start.elapsed() < Duration::from_millis(2500) {
        let mut buf = [0u8; 19];
        if let Ok(n) = s.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
            first_at.get_or_insert(start.elapsed());
        }
    }
    assert!((1..=3).contains(&got.len()), "{got:?}");
    assert!([0x03, 0x00, 0x00].starts_with(&got), "{got:?}");
    assert!(
        first_at.unwrap() >= Duration::from_millis(900),
        "{first_at:?}"
    );
}

#[test]
fn reset_resets_right_after_accept() {
    let lab = common::lab(&[Scenario::Reset]);
    let addr = common::addr(&lab, &Scenario::Reset);
    // A client that sends its Connection Request at once is reset when it arrives.
    let mut s = common::connect(addr);
    s.write_all(&common::connection_request(3)).unwrap();
    let (got, end) = common::read_to_end(&mut s);
    assert!(got.is_empty());
    assert_eq!(end.unwrap_err().kind(), ErrorKind::ConnectionReset);
    // A client that waits is reset anyway, 100 ms after the accept.
    let mut s = common::connect(addr);
    let start = Instant::now();
    let (got, end) = common::read_to_end(&mut s);
    assert!(got.is_empty());
    assert_eq!(end.unwrap_err().kind(), ErrorKind::ConnectionReset);
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn http_answers_like_a_web_server() {
    let lab = common::lab(&[Scenario::Http]);
    let mut s = common::connect(common::addr(&lab, &Scenario::Http));
    s.write_all(&common::connection_request(3)).unwrap();
    let (got, end) = common::read_to_end(&mut s);
    end.unwrap();
    let text = String::from_utf8(got).unwrap();
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    assert!(text.contains("Server: nginx\r\n"));
}
