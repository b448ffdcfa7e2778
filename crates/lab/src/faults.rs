//! Transport-level faults: silence, slowness, resets, and something that is not RDP at all.
//!
//! These are what a probe meets before any RDP byte: TermService hung or throttling, a security
//! product resetting connections, a port mapped to the wrong service.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// Closes `stream` with a TCP reset (SO_LINGER 0) instead of a FIN.
pub(crate) fn reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// Resets the connection as soon as the client sends its first bytes, or 100 ms after the
/// accept, whichever comes first. Resetting in the very instant of the accept races the
/// client's own connect: a non-blocking connect that has not returned yet then fails with
/// ECONNRESET, and the fault would look like a refused port instead of a dropped connection.
pub(crate) async fn reset_soon(mut stream: TcpStream) {
    let mut buf = [0u8; 64];
    let _ = tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await;
    reset(stream);
}

/// Reads and discards until the client closes: a server that accepted and went quiet.
pub(crate) async fn swallow<S: AsyncRead + Unpin>(mut stream: S) {
    let mut buf = [0u8; 1024];
    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
}

/// What nginx answers to bytes that are not HTTP, which is what an RDP client's Connection
/// Request is.
pub(crate) const HTTP_RESPONSE: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
Server: nginx\r\n\
Content-Type: text/html\r\n\
Content-Length: 150\r\n\
Connection: close\r\n\
\r\n\
<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// Waits for the client's first bytes, answers like a web server and closes.
pub(crate) async fn http(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 1024];
    if stream.read(&mut buf).await? == 0 {
        return Ok(());
    }
    stream.write_all(HTTP_RESPONSE).await?;
    stream.shutdown().await
}

/// A stream whose writes go out one byte per `interval`, each byte after its own wait. Reads
/// pass through. Everything a server sends through it (X.224, TLS, CredSSP) crawls.
pub(crate) struct Trickle<S> {
    inner: S,
    interval: Duration,
    wait: Option<Pin<Box<Sleep>>>,
}

impl<S> Trickle<S> {
    pub(crate) fn new(inner: S, interval: Duration) -> Self {
        Self {
            inner,
            interval,
            wait: None,
        }
    }

    pub(crate) fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Trickle<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Trickle<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let interval = self.interval;
        let wait = self
            .wait
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(interval)));
        ready!(wait.as_mut().poll(cx));
        let written = ready!(Pin::new(&mut self.inner).poll_write(cx, &buf[..1]))?;
        self.wait = None;
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_content_length_is_right() {
        let text = std::str::from_utf8(super::HTTP_RESPONSE).unwrap();
        let (_, body) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(body.len(), 150);
    }
}
