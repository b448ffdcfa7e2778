//! Sans-IO codecs rdpdoctor needs beyond IronRDP.
//!
//! Invariant: no I/O, no async, no panics on peer input. Every decoder takes a byte slice,
//! checks every length against the bytes it has and a hard upper bound, and returns a typed
//! error naming what was wrong. Every decoder has a fuzz target in `fuzz/` and property tests.
//!
//! # Module map, in the order a probe meets them
//!
//! | module | job |
//! |---|---|
//! | [`tpkt`] | TPKT (RFC 1006) stream framing: need more / complete frame / not TPKT |
//! | [`x224`] | X.224 Connection Request with RDP_NEG_REQ; Connection Confirm decoder |
//! | [`tls`] | ClientHello builder, incremental server-flight reader, cipher-suite / alert / group tables |
//! | [`tsrequest`] | CredSSP TSRequest DER encoder, lenient bounded decoder, stream prefix reader |
//! | [`ntlm`] | NTLM NEGOTIATE builder; CHALLENGE decoder (names, VERSION, clock) |
//! | [`rdpeudp`] | MS-RDPEUDP SYN encoder and SYN+ACK decoder (does UDP 3389 answer?) |
//! | [`sniff`] | name what a reply is when it is not what was expected (HTTP, SSH, TLS alert...) |
//! | [`der`] | the small bounded DER reader/writer behind [`tsrequest`] |
//!
//! A TCP probe frames the server's answer with [`tpkt::frame`], decodes it with
//! [`x224::decode_confirm`], sends a [`tls::ClientHello`] and feeds the answer to a
//! [`tls::ServerFlightReader`] (legacy servers), or lets rustls do TLS and then frames CredSSP
//! messages with [`tsrequest::frame`] and reads the server's NTLM CHALLENGE out of
//! [`tsrequest::TsRequest::nego_tokens`] with [`ntlm::NtlmChallenge::decode`]. Errors that
//! mean "the peer is not speaking this protocol" carry a [`sniff::Sniffed`] guess.

pub mod der;
pub mod ntlm;
pub mod rdpeudp;
pub mod sniff;
pub mod tls;
pub mod tpkt;
pub mod tsrequest;
pub mod x224;

/// What a stream framer says about buffered bytes (used by [`tpkt::frame`] and
/// [`tsrequest::frame`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// At least this many more bytes are needed before anything can be decided.
    Need(usize),
    /// A whole frame of this many bytes (header included) starts the buffer.
    Complete(usize),
}
