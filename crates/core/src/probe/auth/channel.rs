//! Framing for the connector: read one PDU by the connector's size hint, write its output,
//! each under a deadline and with a bound on what a server may make us buffer.
//!
//! ironrdp-async's `Framed` does the same, but its reads and writes are futures named by
//! generic associated types, for which rustc cannot prove `Send` in a spawned task (the
//! "implementation of `Send` is not general enough" limitation); a scan runs many probes on a
//! multi-threaded runtime, so this stage frames the bytes itself. It is small.

use std::io;
use std::time::Duration;

use ironrdp_pdu::PduHint;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::Stop;
use crate::evidence::{AuthOutcome, ErrorKind};

/// No connection-sequence PDU comes near this; a length above it is a broken or hostile peer.
const MAX_PDU: usize = 1 << 20;

/// A stream with the bytes read ahead of the current PDU.
pub(crate) struct Channel<S> {
    stream: S,
    buf: Vec<u8>,
    /// What the exchange is, for messages ("the logon", "the connection sequence").
    pub during: &'static str,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Channel<S> {
    pub(crate) fn new(stream: S, during: &'static str) -> Channel<S> {
        Channel {
            stream,
            buf: Vec::new(),
            during,
        }
    }

    /// The stream, for the TLS upgrade. Bytes read ahead would belong to the server's TLS
    /// flight; a server that sent any before our ClientHello is broken, and they are dropped.
    pub(crate) fn into_inner(self) -> S {
        self.stream
    }

    /// The next PDU the hint recognises (PDUs it skips are dropped, as IronRDP does).
    pub(crate) async fn read(
        &mut self,
        hint: &dyn PduHint,
        deadline: Duration,
    ) -> Result<Vec<u8>, Stop> {
        match tokio::time::timeout(deadline, self.read_by_hint(hint)).await {
            Err(_) => Err(Stop::timeout(self.during, deadline)),
            Ok(Err(e)) => Err(self.failure(&e)),
            Ok(Ok(pdu)) => Ok(pdu),
        }
    }

    /// The next X.224 or fast-path PDU, whatever it is (to collect what a server still says
    /// after a failure).
    pub(crate) async fn read_any(&mut self) -> io::Result<Vec<u8>> {
        loop {
            match ironrdp_pdu::find_size(&self.buf).map_err(not_a_pdu)? {
                Some(info) => return self.take(info.length).await,
                None => self.fill().await?,
            }
        }
    }

    pub(crate) async fn write(&mut self, bytes: &[u8], deadline: Duration) -> Result<(), Stop> {
        let write = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(deadline, write).await {
            Err(_) => Err(Stop::timeout(self.during, deadline)),
            Ok(Err(e)) => Err(self.failure(&e)),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Say goodbye: `bytes` (a disconnect PDU), then close TLS, all best effort and brief.
    pub(crate) async fn close(&mut self, bytes: &[u8]) {
        let goodbye = async {
            self.stream.write_all(bytes).await?;
            self.stream.shutdown().await
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), goodbye).await;
    }

    async fn read_by_hint(&mut self, hint: &dyn PduHint) -> io::Result<Vec<u8>> {
        loop {
            match hint.find_size(&self.buf).map_err(not_a_pdu)? {
                Some((_, 0)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a zero-length PDU",
                    ));
                }
                Some((matched, length)) => {
                    let pdu = self.take(length).await?;
                    if matched {
                        return Ok(pdu);
                    }
                }
                None => self.fill().await?,
            }
        }
    }

    /// Exactly `length` bytes from the front of the stream.
    async fn take(&mut self, length: usize) -> io::Result<Vec<u8>> {
        if length > MAX_PDU {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the server announced a PDU of {length} bytes (more than we accept)"),
            ));
        }
        while self.buf.len() < length {
            self.fill().await?;
        }
        Ok(self.buf.drain(..length).collect())
    }

    /// Read more bytes; end of stream is an error (a PDU is always expected).
    async fn fill(&mut self) -> io::Result<()> {
        if self.buf.len() > MAX_PDU {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the server sent more than we accept without completing a PDU",
            ));
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    fn failure(&self, e: &io::Error) -> Stop {
        if e.kind() == io::ErrorKind::InvalidData {
            return Stop::new(
                ErrorKind::Protocol,
                AuthOutcome::Failed,
                format!("during {}: {e}", self.during),
            );
        }
        Stop::io(e, self.during)
    }
}

/// A framing error: the bytes are not what the hint expects.
fn not_a_pdu(e: ironrdp_core::DecodeError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_one_tpkt_at_a_time_and_keeps_the_rest() {
        let (client, mut server) = tokio::io::duplex(1024);
        let mut ch = Channel::new(client, "a test");
        let dpu = [3, 0, 0, 9, 2, 0xf0, 0x80, 0x21, 0x80];
        let dt = [3, 0, 0, 7, 2, 0xf0, 0x80];
        server
            .write_all(&[&dpu[..], &dt[..]].concat())
            .await
            .unwrap();
        let first = ch
            .read(&ironrdp_pdu::X224_HINT, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(first, dpu);
        let second = ch.read_any().await.unwrap();
        assert_eq!(second, dt);
    }

    #[tokio::test]
    async fn a_close_mid_pdu_is_a_close_and_a_huge_length_a_protocol_error() {
        let (client, mut server) = tokio::io::duplex(1024);
        let mut ch = Channel::new(client, "a test");
        server.write_all(&[3, 0, 0, 9, 2]).await.unwrap();
        drop(server);
        let stop = ch
            .read(&ironrdp_pdu::X224_HINT, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(stop.kind, ErrorKind::Closed);

        let (client, mut server) = tokio::io::duplex(1024);
        let mut ch = Channel::new(client, "a test");
        // A BER length of 2^31 bytes for a TSRequest.
        server
            .write_all(&[0x30, 0x84, 0x80, 0, 0, 0])
            .await
            .unwrap();
        struct Ber;
        impl std::fmt::Debug for Ber {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("Ber")
            }
        }
        impl PduHint for Ber {
            fn find_size(&self, b: &[u8]) -> ironrdp_core::DecodeResult<Option<(bool, usize)>> {
                Ok((b.len() >= 6).then_some((true, 0x8000_0006)))
            }
        }
        let stop = ch.read(&Ber, Duration::from_secs(1)).await.unwrap_err();
        assert_eq!(stop.kind, ErrorKind::Protocol);
    }
}
