//! Socket plumbing shared by the stages: classify OS errors into stage error kinds, read with a
//! deadline and a size bound, and remember what the peer sent.

use std::io;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::evidence::{ErrorKind, Seen, StageError, StageName};
use rdpdoctor_wire::Frame;

/// Map an OS error to the vocabulary of `error.kind`. Portable: relies on `io::ErrorKind`,
/// which std maps from errno on Unix and WSA codes on Windows.
pub fn classify(e: &io::Error) -> ErrorKind {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => ErrorKind::Refused,
        K::TimedOut | K::WouldBlock => ErrorKind::Timeout,
        K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown => ErrorKind::Unreachable,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => ErrorKind::Reset,
        K::UnexpectedEof => ErrorKind::Closed,
        _ => ErrorKind::Io,
    }
}

/// A human sentence for an OS error, without the noise of `os error N` duplicates.
pub fn describe(e: &io::Error) -> String {
    match classify(e) {
        ErrorKind::Refused => "connection refused (TCP reset): nothing listens on that port".into(),
        ErrorKind::Unreachable => format!("unreachable: {e}"),
        ErrorKind::Reset => format!("connection reset by the peer: {e}"),
        _ => e.to_string(),
    }
}

/// Why a bounded read stopped.
#[derive(Debug)]
pub enum ReadFailure {
    Timeout,
    /// The peer closed the connection (EOF).
    Closed,
    Io(io::Error),
    /// The peer sent more than the bound.
    TooLarge,
}

impl ReadFailure {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ReadFailure::Timeout => ErrorKind::Timeout,
            ReadFailure::Closed => ErrorKind::Closed,
            ReadFailure::Io(e) => classify(e),
            ReadFailure::TooLarge => ErrorKind::TooLarge,
        }
    }

    pub fn describe(&self, waiting_for: &str, deadline: Duration) -> String {
        match self {
            ReadFailure::Timeout => format!("no {waiting_for} within {} ms", deadline.as_millis()),
            ReadFailure::Closed => {
                format!("the server closed the connection before sending {waiting_for}")
            }
            ReadFailure::Io(e) => format!("while waiting for {waiting_for}: {}", describe(e)),
            ReadFailure::TooLarge => {
                format!("the server sent more than we accept while waiting for {waiting_for}")
            }
        }
    }

    /// Turn into a stage error carrying the bytes seen so far.
    pub fn into_stage_error(
        self,
        stage: StageName,
        started: Instant,
        waiting_for: &str,
        deadline: Duration,
        seen: &[u8],
    ) -> StageError {
        let mut err = StageError::new(
            stage,
            self.kind(),
            started.elapsed(),
            self.describe(waiting_for, deadline),
        );
        if !seen.is_empty() {
            err = err.with_seen(Seen::from_bytes(seen));
        }
        err
    }
}

/// Read into `buf` until `frame` says a message is complete, the peer closes, the deadline passes
/// or `max` bytes are buffered. `frame` returns `Err(kind)` when the bytes can never become a
/// valid message (stop reading; `kind` says why: `not_rdp`, `too_large`, `protocol`), else a
/// [`Frame`] (`Need(n)`: `n` more bytes). Returns the length of the complete message (which may
/// be shorter than `buf`), or the kind of invalidity. On failure `buf` keeps what arrived, for
/// the report.
pub async fn read_message<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    max: usize,
    deadline: Instant,
    frame: impl Fn(&[u8]) -> Result<Frame, ErrorKind>,
) -> Result<Result<usize, ErrorKind>, ReadFailure> {
    let mut chunk = [0u8; 4096];
    loop {
        match frame(buf) {
            Ok(Frame::Complete(n)) => return Ok(Ok(n)),
            Err(kind) => return Ok(Err(kind)),
            Ok(Frame::Need(n)) if buf.len().saturating_add(n) > max => {
                return Err(ReadFailure::TooLarge);
            }
            Ok(Frame::Need(_)) => {}
        }
        if buf.len() >= max {
            return Err(ReadFailure::TooLarge);
        }
        let want = chunk.len().min(max - buf.len());
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, stream.read(&mut chunk[..want])).await {
            Err(_) => return Err(ReadFailure::Timeout),
            Ok(Ok(0)) => return Err(ReadFailure::Closed),
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => return Err(ReadFailure::Io(e)),
        }
    }
}

/// What unexpected bytes look like ("an HTTP response: ...", "a TLS alert ..."), for reports.
pub fn looks_like(bytes: &[u8]) -> String {
    rdpdoctor_wire::sniff::sniff(bytes).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_map_to_stage_vocabulary() {
        assert_eq!(
            classify(&io::Error::from(io::ErrorKind::ConnectionRefused)),
            ErrorKind::Refused
        );
        assert_eq!(
            classify(&io::Error::from(io::ErrorKind::HostUnreachable)),
            ErrorKind::Unreachable
        );
        assert_eq!(
            classify(&io::Error::from(io::ErrorKind::NetworkUnreachable)),
            ErrorKind::Unreachable
        );
        assert_eq!(
            classify(&io::Error::from(io::ErrorKind::ConnectionReset)),
            ErrorKind::Reset
        );
        assert_eq!(
            classify(&io::Error::from(io::ErrorKind::UnexpectedEof)),
            ErrorKind::Closed
        );
    }

    #[tokio::test]
    async fn read_message_stops_at_bound_and_deadline() {
        let (mut a, mut b) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut a, &[7u8; 40])
            .await
            .unwrap();
        let mut buf = Vec::new();
        let deadline = Instant::now() + Duration::from_millis(200);
        let r = read_message(&mut b, &mut buf, 32, deadline, |_| Ok(Frame::Need(1000))).await;
        assert!(matches!(r, Err(ReadFailure::TooLarge)));
        let mut buf = Vec::new();
        let deadline = Instant::now() + Duration::from_millis(50);
        let r = read_message(&mut b, &mut buf, 1024, deadline, |b| {
            Ok(if b.len() >= 100 {
                Frame::Complete(100)
            } else {
                Frame::Need(100 - b.len())
            })
        })
        .await;
        assert!(matches!(r, Err(ReadFailure::Timeout)), "{r:?}");
        drop(a);
        let r = read_message(
            &mut b,
            &mut buf,
            1024,
            Instant::now() + Duration::from_secs(1),
            |_| Ok(Frame::Need(100)),
        )
        .await;
        assert!(matches!(r, Err(ReadFailure::Closed)));
    }
}
