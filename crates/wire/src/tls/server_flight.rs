//! Incremental reader of the server's plaintext TLS flight.
//!
//! Feed it whatever the socket returns with [`ServerFlightReader::push`]; it reassembles
//! records and handshake messages split across records (and records split across reads),
//! and reports [`Progress::Done`] once the plaintext part of the flight is over:
//!
//! - TLS ≤ 1.2: at ServerHelloDone (or a ChangeCipherSpec, for a resumed session);
//! - TLS 1.3: right after the ServerHello (everything after it is encrypted), or at a
//!   HelloRetryRequest;
//! - any version: at an alert that is not a plain warning (fatal, close_notify, or an
//!   unknown level); warnings such as `unrecognized_name` are recorded and reading goes on.
//!
//! What was seen so far stays available in [`ServerFlightReader::flight`] even when the peer
//! closes early or an error stops the reader, so a report can say "ServerHello arrived, the
//! certificate did not".
//!
//! Bounds (see [`FlightLimits`]): total bytes (1 MiB by default; hostile or misconfigured
//! servers send multi-megabyte chains), record count and certificate count. Record lengths
//! are checked against the TLS maximum before buffering, handshake lengths against the byte
//! limit before waiting for them.
//!
//! ServerHello bodies and ServerKeyExchange parameters are parsed with tls-parser. Record
//! framing, handshake reassembly, the extension walk and the certificate list are done here:
//! tls-parser has no cross-record reassembly, and its list parsers stop silently at a
//! malformed entry, where this reader must report one.

use tls_parser::{ECParametersContent, parse_dh_params, parse_ecdh_params};

use super::suites::{self, KeyExchange};
use super::{Alert, ProtocolVersion, alert, content_type, extension, handshake_type};
use crate::sniff::{Sniffed, sniff};

/// Largest record length accepted (TLSCiphertext bound: 2^14 + 2048).
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// ServerHello.random of a HelloRetryRequest (RFC 8446 4.1.3: SHA-256 of
/// "HelloRetryRequest").
pub const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// The first 7 bytes of the RFC 8446 4.1.3 downgrade sentinel ("DOWNGRD").
const DOWNGRADE_PREFIX: [u8; 7] = *b"DOWNGRD";

/// Hard bounds on what one flight may make the reader hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlightLimits {
    /// Total bytes accepted across all pushes.
    pub max_bytes: usize,
    /// Records accepted.
    pub max_records: usize,
    /// Certificates accepted in the Certificate message.
    pub max_certificates: usize,
}

impl Default for FlightLimits {
    fn default() -> Self {
        Self {
            max_bytes: 1024 * 1024,
            max_records: 1024,
            max_certificates: 64,
        }
    }
}

/// What [`ServerFlightReader::push`] says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The flight is not over; push more bytes.
    NeedMore,
    /// The plaintext flight is over (see the module doc for when); more pushes are ignored.
    Done,
}

/// The decoded ServerHello (or HelloRetryRequest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerHello {
    /// server_version / legacy_version field.
    pub legacy_version: ProtocolVersion,
    /// Negotiated version: supported_versions when present, else `legacy_version`.
    pub version: ProtocolVersion,
    /// ServerHello.random.
    pub random: [u8; 32],
    /// Session id (empty when none).
    pub session_id: Vec<u8>,
    /// Selected cipher suite id (see [`suites::suite`]).
    pub cipher_suite: u16,
    /// Selected compression method (anything but 0 is a finding: CRIME).
    pub compression: u8,
    /// Extension types, in order.
    pub extensions: Vec<u16>,
    /// TLS 1.3 group: key_share of a ServerHello, or selected_group of a HelloRetryRequest.
    pub selected_group: Option<u16>,
    /// This is a HelloRetryRequest: the server wants a key share for `selected_group`.
    pub hello_retry_request: bool,
    /// renegotiation_info present (RFC 5746 secure renegotiation).
    pub secure_renegotiation: bool,
    /// extended_master_secret present (RFC 7627).
    pub extended_master_secret: bool,
    /// Last byte of the RFC 8446 downgrade sentinel when the random ends with one: 1 means
    /// the server supports TLS 1.3 but answered TLS 1.2 (we offered no more); 0 means it
    /// supports TLS 1.2+ and answered TLS 1.1 or lower.
    pub downgrade_sentinel: Option<u8>,
}

/// ServerKeyExchange, interpreted for the selected suite's key exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKeyExchange {
    /// ECDHE with a named group.
    Ecdhe {
        /// The group (see [`super::groups::group_name`]).
        group: u16,
    },
    /// ECDHE with explicit curve parameters (a legacy oddity worth reporting).
    EcdheExplicitCurve,
    /// Finite-field DHE: the prime's size (1024-bit groups are Logjam-weak).
    Dhe {
        /// Bits in the prime p.
        prime_bits: usize,
    },
    /// Another key exchange (PSK, SRP, RSA export...): only the size is kept.
    Other {
        /// Message body length.
        len: usize,
    },
}

/// Everything the server sent in plaintext, as far as it was read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerFlight {
    /// Version of the first record header.
    pub record_version: Option<ProtocolVersion>,
    /// The ServerHello, once received.
    pub server_hello: Option<ServerHello>,
    /// Certificates (raw DER, leaf first) from the Certificate message (TLS ≤ 1.2 only).
    pub certificates: Vec<Vec<u8>>,
    /// ServerKeyExchange, when sent.
    pub key_exchange: Option<ServerKeyExchange>,
    /// The server asked for a client certificate.
    pub certificate_request: bool,
    /// The server stapled an OCSP response.
    pub certificate_status: bool,
    /// ServerHelloDone arrived.
    pub server_hello_done: bool,
    /// A ChangeCipherSpec arrived after the ServerHello (a TLS ≤ 1.2 abbreviated handshake).
    pub change_cipher_spec: bool,
    /// Alerts, in order.
    pub alerts: Vec<Alert>,
    /// Handshake message types, in order (HelloRequest is not recorded).
    pub handshake_types: Vec<u8>,
    /// Records read.
    pub records: usize,
    /// Bytes consumed by complete records.
    pub bytes: usize,
}

impl ServerFlight {
    /// The alert that ended the flight: the first fatal one, else the last one.
    pub fn alert(&self) -> Option<Alert> {
        self.alerts
            .iter()
            .find(|a| a.is_fatal())
            .or(self.alerts.last())
            .copied()
    }

    /// Negotiated version, once a ServerHello arrived.
    pub fn negotiated_version(&self) -> Option<ProtocolVersion> {
        self.server_hello.as_ref().map(|s| s.version)
    }

    /// Selected cipher suite id, once a ServerHello arrived.
    pub fn cipher_suite(&self) -> Option<u16> {
        self.server_hello.as_ref().map(|s| s.cipher_suite)
    }

    /// The leaf certificate's DER, when a Certificate message arrived with at least one.
    pub fn leaf_certificate(&self) -> Option<&[u8]> {
        self.certificates.first().map(Vec::as_slice)
    }
}

/// Why the server's bytes cannot be read as a TLS flight.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FlightError {
    /// The very first bytes are not a TLS record: the server speaks something else (xrdp
    /// sends a plaintext MCS disconnect in a TPKT when its certificate fails to load).
    #[error("not TLS: the server sent {looks_like}")]
    NotTls {
        /// What the bytes look like.
        looks_like: Sniffed,
    },
    /// A record with a content type TLS does not define.
    #[error("unknown record content type {0}")]
    UnknownContentType(u8),
    /// A record header whose version major is not 3.
    #[error("record version {0:#06x} is not SSL 3.0 / TLS")]
    RecordVersion(u16),
    /// A record longer than [`MAX_RECORD_LEN`].
    #[error("record of {0} bytes exceeds the TLS maximum")]
    RecordTooLong(usize),
    /// A zero-length handshake or alert record.
    #[error("empty {0} record")]
    EmptyRecord(&'static str),
    /// A record type that cannot appear in a server's plaintext flight at this point.
    #[error("unexpected {0} record")]
    UnexpectedRecord(&'static str),
    /// More than [`FlightLimits::max_bytes`] pushed.
    #[error("server flight exceeds {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// More than [`FlightLimits::max_records`] records.
    #[error("server flight exceeds {limit} records")]
    TooManyRecords {
        /// The limit.
        limit: usize,
    },
    /// A handshake message announcing more than the byte limit.
    #[error("handshake message type {handshake_type} announces {len} bytes (limit {limit})")]
    MessageTooLarge {
        /// Message type.
        handshake_type: u8,
        /// Announced length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A handshake message out of order (before the ServerHello, or repeated).
    #[error("unexpected handshake message type {0}")]
    UnexpectedMessage(u8),
    /// A ServerHello with a legacy_version tls-parser cannot read (not SSL 3.0 .. TLS 1.2).
    #[error("ServerHello version {0:#06x} is not SSL 3.0 .. TLS 1.2")]
    ServerHelloVersion(u16),
    /// A message whose body does not match its structure.
    #[error("malformed {message}: {reason}")]
    Malformed {
        /// Which message.
        message: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// More than [`FlightLimits::max_certificates`] certificates.
    #[error("Certificate message has more than {limit} certificates")]
    TooManyCertificates {
        /// The limit.
        limit: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Reading,
    Done,
    Failed(FlightError),
}

/// Incremental, bounded reader of a server's plaintext TLS flight.
#[derive(Clone, Debug)]
pub struct ServerFlightReader {
    limits: FlightLimits,
    state: State,
    /// Bytes received but not yet consumed as complete records.
    pending: Vec<u8>,
    /// Handshake bytes not yet consumed as complete messages.
    handshake: Vec<u8>,
    /// Bytes accepted so far (the limit applies to this).
    received: usize,
    flight: ServerFlight,
}

impl Default for ServerFlightReader {
    fn default() -> Self {
        Self::new()
    }
}

fn malformed(message: &'static str, reason: &'static str) -> FlightError {
    FlightError::Malformed { message, reason }
}

fn u24(b: &[u8]) -> usize {
    (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2])
}

impl ServerFlightReader {
    /// A reader with [`FlightLimits::default`].
    pub fn new() -> Self {
        Self::with_limits(FlightLimits::default())
    }

    /// A reader with explicit limits.
    pub fn with_limits(limits: FlightLimits) -> Self {
        Self {
            limits,
            state: State::Reading,
            pending: Vec::new(),
            handshake: Vec::new(),
            received: 0,
            flight: ServerFlight::default(),
        }
    }

    /// What has been decoded so far.
    pub fn flight(&self) -> &ServerFlight {
        &self.flight
    }

    /// Take the decoded flight.
    pub fn into_flight(self) -> ServerFlight {
        self.flight
    }

    /// Whether the flight is over.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The error that stopped the reader, if one did.
    pub fn error(&self) -> Option<&FlightError> {
        match &self.state {
            State::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Bytes received but not yet part of a complete record or message (what a peer that
    /// closed early left half-sent).
    pub fn buffered(&self) -> usize {
        self.pending.len() + self.handshake.len()
    }

    /// Feed bytes from the socket. After `Done` further bytes are ignored; after an error the
    /// same error is returned again.
    pub fn push(&mut self, data: &[u8]) -> Result<Progress, FlightError> {
        match &self.state {
            State::Done => return Ok(Progress::Done),
            State::Failed(e) => return Err(e.clone()),
            State::Reading => {}
        }
        match self.read(data) {
            Ok(p) => Ok(p),
            Err(e) => {
                self.state = State::Failed(e.clone());
                Err(e)
            }
        }
    }

    fn read(&mut self, data: &[u8]) -> Result<Progress, FlightError> {
        if data.len() > self.limits.max_bytes - self.received {
            return Err(FlightError::TooLarge {
                limit: self.limits.max_bytes,
            });
        }
        self.received += data.len();
        self.pending.extend_from_slice(data);

        let mut pos = 0;
        let result = loop {
            let rest = &self.pending[pos..];
            if self.flight.records == 0 && !rest.is_empty() {
                // Before the first complete record, reject anything that cannot start one, so
                // an HTTP or RDP answer is named instead of waiting for more bytes.
                let s = sniff(rest);
                if !matches!(
                    s,
                    Sniffed::TlsRecord { .. } | Sniffed::TlsAlert { .. } | Sniffed::Undecided
                ) {
                    break Err(FlightError::NotTls { looks_like: s });
                }
            }
            if rest.len() < 5 {
                break Ok(Progress::NeedMore);
            }
            let ty = rest[0];
            let version = u16::from_be_bytes([rest[1], rest[2]]);
            let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
            if !(content_type::CHANGE_CIPHER_SPEC..=content_type::HEARTBEAT).contains(&ty) {
                break Err(FlightError::UnknownContentType(ty));
            }
            if version >> 8 != 3 {
                break Err(FlightError::RecordVersion(version));
            }
            if len > MAX_RECORD_LEN {
                break Err(FlightError::RecordTooLong(len));
            }
            if rest.len() < 5 + len {
                break Ok(Progress::NeedMore);
            }
            if self.flight.records == self.limits.max_records {
                break Err(FlightError::TooManyRecords {
                    limit: self.limits.max_records,
                });
            }
            self.flight.records += 1;
            self.flight.bytes += 5 + len;
            self.flight
                .record_version
                .get_or_insert(ProtocolVersion(version));
            let payload = self.pending[pos + 5..pos + 5 + len].to_vec();
            pos += 5 + len;
            match self.record(ty, &payload) {
                Ok(Progress::NeedMore) => {}
                other => break other,
            }
        };
        self.pending.drain(..pos);
        if result == Ok(Progress::Done) {
            self.state = State::Done;
        }
        result
    }

    fn record(&mut self, ty: u8, payload: &[u8]) -> Result<Progress, FlightError> {
        match ty {
            content_type::ALERT => {
                if payload.is_empty() {
                    return Err(FlightError::EmptyRecord("alert"));
                }
                if !payload.len().is_multiple_of(2) {
                    return Err(malformed("alert", "odd length"));
                }
                let mut done = false;
                for pair in payload.chunks_exact(2) {
                    let a = Alert {
                        level: pair[0],
                        description: pair[1],
                    };
                    self.flight.alerts.push(a);
                    done |= a.level != alert::LEVEL_WARNING || a.description == 0;
                }
                Ok(if done {
                    Progress::Done
                } else {
                    Progress::NeedMore
                })
            }
            content_type::HANDSHAKE => {
                if payload.is_empty() {
                    return Err(FlightError::EmptyRecord("handshake"));
                }
                self.handshake.extend_from_slice(payload);
                self.messages()
            }
            content_type::CHANGE_CIPHER_SPEC => {
                if self.flight.server_hello.is_none() || !self.handshake.is_empty() {
                    return Err(FlightError::UnexpectedRecord("change_cipher_spec"));
                }
                self.flight.change_cipher_spec = true;
                Ok(Progress::Done)
            }
            content_type::APPLICATION_DATA => {
                Err(FlightError::UnexpectedRecord("application_data"))
            }
            _ => Err(FlightError::UnexpectedRecord("heartbeat")),
        }
    }

    fn messages(&mut self) -> Result<Progress, FlightError> {
        let mut pos = 0;
        let result = loop {
            let rest = &self.handshake[pos..];
            if rest.len() < 4 {
                break Ok(Progress::NeedMore);
            }
            let ty = rest[0];
            let len = u24(&rest[1..4]);
            if len > self.limits.max_bytes {
                break Err(FlightError::MessageTooLarge {
                    handshake_type: ty,
                    len,
                    limit: self.limits.max_bytes,
                });
            }
            if rest.len() < 4 + len {
                break Ok(Progress::NeedMore);
            }
            let body = rest[4..4 + len].to_vec();
            pos += 4 + len;
            match self.message(ty, &body) {
                Ok(Progress::NeedMore) => {}
                other => break other,
            }
        };
        self.handshake.drain(..pos);
        result
    }

    fn message(&mut self, ty: u8, body: &[u8]) -> Result<Progress, FlightError> {
        if ty == handshake_type::HELLO_REQUEST {
            // Legal at any time and meaningless here.
            return Ok(Progress::NeedMore);
        }
        let f = &mut self.flight;
        let seen = f.handshake_types.contains(&ty);
        if ty == handshake_type::SERVER_HELLO {
            if seen {
                return Err(FlightError::UnexpectedMessage(ty));
            }
            f.handshake_types.push(ty);
            let sh = parse_server_hello(body)?;
            let done = sh.hello_retry_request || sh.version >= ProtocolVersion::TLS13;
            f.server_hello = Some(sh);
            return Ok(if done {
                Progress::Done
            } else {
                Progress::NeedMore
            });
        }
        let Some(sh) = &f.server_hello else {
            return Err(FlightError::UnexpectedMessage(ty));
        };
        if seen {
            return Err(FlightError::UnexpectedMessage(ty));
        }
        match ty {
            handshake_type::CERTIFICATE => {
                f.certificates = parse_certificates(body, self.limits.max_certificates)?;
            }
            handshake_type::SERVER_KEY_EXCHANGE => {
                f.key_exchange = Some(parse_key_exchange(body, sh.cipher_suite)?);
            }
            handshake_type::CERTIFICATE_REQUEST => f.certificate_request = true,
            handshake_type::CERTIFICATE_STATUS => f.certificate_status = true,
            handshake_type::SERVER_HELLO_DONE => {
                if !body.is_empty() {
                    return Err(malformed("ServerHelloDone", "non-empty body"));
                }
                f.server_hello_done = true;
            }
            _ => return Err(FlightError::UnexpectedMessage(ty)),
        }
        f.handshake_types.push(ty);
        Ok(if ty == handshake_type::SERVER_HELLO_DONE {
            Progress::Done
        } else {
            Progress::NeedMore
        })
    }
}

fn parse_server_hello(body: &[u8]) -> Result<ServerHello, FlightError> {
    const M: &str = "ServerHello";
    if body.len() < 2 {
        return Err(malformed(M, "truncated"));
    }
    let legacy = u16::from_be_bytes([body[0], body[1]]);
    if !(0x0300..=0x0303).contains(&legacy) {
        return Err(FlightError::ServerHelloVersion(legacy));
    }
    let (rest, sh) = tls_parser::parse_tls_handshake_server_hello(body)
        .map_err(|_| malformed(M, "truncated or inconsistent fields"))?;
    if !rest.is_empty() {
        return Err(malformed(M, "trailing bytes"));
    }
    let mut random = [0; 32];
    if sh.random.len() != 32 {
        return Err(malformed(M, "random is not 32 bytes"));
    }
    random.copy_from_slice(sh.random);
    let session_id = sh.session_id.unwrap_or_default().to_vec();
    if session_id.len() > 32 {
        return Err(malformed(M, "session id longer than 32 bytes"));
    }
    let hello_retry_request = random == HELLO_RETRY_REQUEST_RANDOM;
    let mut out = ServerHello {
        legacy_version: ProtocolVersion(legacy),
        version: ProtocolVersion(legacy),
        random,
        session_id,
        cipher_suite: sh.cipher.0,
        compression: sh.compression.0,
        extensions: Vec::new(),
        selected_group: None,
        hello_retry_request,
        secure_renegotiation: false,
        extended_master_secret: false,
        downgrade_sentinel: (random[24..31] == DOWNGRADE_PREFIX && random[31] <= 1)
            .then_some(random[31]),
    };
    let mut ext = sh.ext.unwrap_or_default();
    while !ext.is_empty() {
        if ext.len() < 4 {
            return Err(malformed(M, "truncated extension header"));
        }
        let ty = u16::from_be_bytes([ext[0], ext[1]]);
        let len = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
        let Some(data) = ext.get(4..4 + len) else {
            return Err(malformed(M, "extension runs past the message"));
        };
        if out.extensions.contains(&ty) {
            return Err(malformed(M, "duplicate extension"));
        }
        out.extensions.push(ty);
        match ty {
            extension::SUPPORTED_VERSIONS => {
                let [hi, lo] = data else {
                    return Err(malformed(M, "supported_versions is not 2 bytes"));
                };
                out.version = ProtocolVersion(u16::from_be_bytes([*hi, *lo]));
            }
            extension::KEY_SHARE => {
                // ServerHello: group, key_exchange<1..2^16-1>; HelloRetryRequest: group only.
                if data.len() < 2 || (!hello_retry_request && data.len() < 4) {
                    return Err(malformed(M, "key_share too short"));
                }
                out.selected_group = Some(u16::from_be_bytes([data[0], data[1]]));
            }
            extension::RENEGOTIATION_INFO => out.secure_renegotiation = true,
            extension::EXTENDED_MASTER_SECRET => out.extended_master_secret = true,
            _ => {}
        }
        ext = &ext[4 + len..];
    }
    Ok(out)
}

fn parse_certificates(body: &[u8], max: usize) -> Result<Vec<Vec<u8>>, FlightError> {
    const M: &str = "Certificate";
    if body.len() < 3 {
        return Err(malformed(M, "truncated"));
    }
    let total = u24(body);
    if total != body.len() - 3 {
        return Err(malformed(M, "list length does not match the message"));
    }
    let mut list = &body[3..];
    let mut certs = Vec::new();
    while !list.is_empty() {
        if certs.len() == max {
            return Err(FlightError::TooManyCertificates { limit: max });
        }
        if list.len() < 3 {
            return Err(malformed(M, "truncated certificate length"));
        }
        let len = u24(list);
        let Some(der) = list.get(3..3 + len) else {
            return Err(malformed(M, "certificate runs past the list"));
        };
        if der.is_empty() {
            return Err(malformed(M, "empty certificate entry"));
        }
        certs.push(der.to_vec());
        list = &list[3 + len..];
    }
    Ok(certs)
}

fn parse_key_exchange(body: &[u8], cipher_suite: u16) -> Result<ServerKeyExchange, FlightError> {
    const M: &str = "ServerKeyExchange";
    let kx = suites::suite(cipher_suite).map(|s| s.kx);
    match kx {
        Some(KeyExchange::Ecdhe | KeyExchange::Ecdh) => {
            let (_, p) = parse_ecdh_params(body).map_err(|_| malformed(M, "bad ECDH params"))?;
            Ok(match p.curve_params.params_content {
                ECParametersContent::NamedGroup(g) => ServerKeyExchange::Ecdhe { group: g.0 },
                ECParametersContent::ExplicitPrime(_) => ServerKeyExchange::EcdheExplicitCurve,
            })
        }
        Some(KeyExchange::Dhe | KeyExchange::Dh) => {
            let (_, p) = parse_dh_params(body).map_err(|_| malformed(M, "bad DH params"))?;
            let prime = p.dh_p;
            let bits = match prime.iter().position(|&b| b != 0) {
                None => 0,
                Some(i) => (prime.len() - i) * 8 - prime[i].leading_zeros() as usize,
            };
            Ok(ServerKeyExchange::Dhe { prime_bits: bits })
        }
        _ => Ok(ServerKeyExchange::Other { len: body.len() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::groups;
    use proptest::prelude::*;

    fn record(ty: u8, version: u16, payload: &[u8]) -> Vec<u8> {
        let mut r = vec![ty];
        r.extend_from_slice(&version.to_be_bytes());
        r.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        r.extend_from_slice(payload);
        r
    }

    fn message(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![ty];
        m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        m.extend_from_slice(body);
        m
    }

    fn server_hello(
        version: u16,
        random: [u8; 32],
        suite: u16,
        exts: &[(u16, Vec<u8>)],
    ) -> Vec<u8> {
        let mut b = version.to_be_bytes().to_vec();
        b.extend_from_slice(&random);
        b.push(0);
        b.extend_from_slice(&suite.to_be_bytes());
        b.push(0);
        if !exts.is_empty() {
            let mut e = Vec::new();
            for (t, d) in exts {
                e.extend_from_slice(&t.to_be_bytes());
                e.extend_from_slice(&(d.len() as u16).to_be_bytes());
                e.extend_from_slice(d);
            }
            b.extend_from_slice(&(e.len() as u16).to_be_bytes());
            b.extend_from_slice(&e);
        }
        message(handshake_type::SERVER_HELLO, &b)
    }

    fn certificate(certs: &[&[u8]]) -> Vec<u8> {
        let mut list = Vec::new();
        for c in certs {
            list.extend_from_slice(&(c.len() as u32).to_be_bytes()[1..]);
            list.extend_from_slice(c);
        }
        let mut b = (list.len() as u32).to_be_bytes()[1..].to_vec();
        b.extend_from_slice(&list);
        message(handshake_type::CERTIFICATE, &b)
    }

    /// A TLS 1.2 ECDHE flight: ServerHello, Certificate, ServerKeyExchange, ServerHelloDone.
    fn tls12_flight() -> Vec<u8> {
        let mut hs = server_hello(0x0303, [5; 32], 0xc02f, &[(0xff01, vec![0]), (23, vec![])]);
        hs.extend(certificate(&[b"leaf-der", b"intermediate-der"]));
        let mut ske = vec![3];
        ske.extend_from_slice(&groups::X25519.to_be_bytes());
        ske.push(32);
        ske.extend_from_slice(&[7; 32]);
        ske.extend_from_slice(&[0x04, 0x01, 0x00, 0x02, 0xaa, 0xbb]); // sig alg + signature
        hs.extend(message(handshake_type::SERVER_KEY_EXCHANGE, &ske));
        hs.extend(message(handshake_type::SERVER_HELLO_DONE, &[]));
        record(content_type::HANDSHAKE, 0x0303, &hs)
    }

    #[test]
    fn reads_a_tls12_flight_in_one_push() {
        let mut r = ServerFlightReader::new();
        assert_eq!(r.push(&tls12_flight()), Ok(Progress::Done));
        let f = r.flight();
        let sh = f.server_hello.as_ref().unwrap();
        assert_eq!(sh.version, ProtocolVersion::TLS12);
        assert_eq!(sh.cipher_suite, 0xc02f);
        assert!(sh.secure_renegotiation && sh.extended_master_secret);
        assert_eq!(
            f.certificates,
            vec![b"leaf-der".to_vec(), b"intermediate-der".to_vec()]
        );
        assert_eq!(
            f.key_exchange,
            Some(ServerKeyExchange::Ecdhe {
                group: groups::X25519
            })
        );
        assert!(f.server_hello_done);
        assert_eq!(f.records, 1);
        assert_eq!(f.handshake_types, vec![2, 11, 12, 14]);
        // More bytes after Done are ignored.
        assert_eq!(r.push(b"garbage"), Ok(Progress::Done));
    }

    #[test]
    fn reads_the_same_flight_byte_by_byte_and_across_records() {
        let flight = tls12_flight();
        let mut r = ServerFlightReader::new();
        for (i, b) in flight.iter().enumerate() {
            let p = r.push(&[*b]).unwrap();
            assert_eq!(p == Progress::Done, i == flight.len() - 1);
        }
        let one = r.into_flight();

        // The same handshake bytes split into 7-byte records.
        let hs = &flight[5..];
        let mut split = Vec::new();
        for chunk in hs.chunks(7) {
            split.extend(record(content_type::HANDSHAKE, 0x0303, chunk));
        }
        let mut r = ServerFlightReader::new();
        assert_eq!(r.push(&split), Ok(Progress::Done));
        assert_eq!(r.flight().certificates, one.certificates);
        assert_eq!(r.flight().records, hs.len().div_ceil(7));
    }

    #[test]
    fn tls13_server_hello_ends_the_plaintext_flight() {
        let mut key_share = groups::SECP256R1.to_be_bytes().to_vec();
        key_share.extend_from_slice(&[0, 65]);
        key_share.extend_from_slice(&[4; 65]);
        let sh = server_hello(
            0x0303,
            [9; 32],
            0x1302,
            &[(43, vec![0x03, 0x04]), (51, key_share)],
        );
        let mut bytes = record(content_type::HANDSHAKE, 0x0303, &sh);
        bytes.extend(record(content_type::CHANGE_CIPHER_SPEC, 0x0303, &[1]));
        bytes.extend(record(content_type::APPLICATION_DATA, 0x0303, &[0xee; 40]));
        let mut r = ServerFlightReader::new();
        assert_eq!(r.push(&bytes), Ok(Progress::Done));
        let sh = r.flight().server_hello.clone().unwrap();
        assert_eq!(sh.version, ProtocolVersion::TLS13);
        assert_eq!(sh.legacy_version, ProtocolVersion::TLS12);
        assert_eq!(sh.selected_group, Some(groups::SECP256R1));
        assert!(!sh.hello_retry_request);
        assert_eq!(r.flight().records, 1);
    }

    #[test]
    fn hello_retry_request_is_recognised() {
        let sh = server_hello(
            0x0303,
            HELLO_RETRY_REQUEST_RANDOM,
            0x1301,
            &[
                (43, vec![0x03, 0x04]),
                (51, groups::SECP384R1.to_be_bytes().to_vec()),
            ],
        );
        let mut r = ServerFlightReader::new();
        assert_eq!(r.push(&record(22, 0x0303, &sh)), Ok(Progress::Done));
        let sh = r.flight().server_hello.clone().unwrap();
        assert!(sh.hello_retry_request);
        assert_eq!(sh.selected_group, Some(groups::SECP384R1));
    }

    #[test]
    fn downgrade_sentinel_and_dhe_prime() {
        let mut random = [1; 32];
        random[24..].copy_from_slice(b"DOWNGRD\x01");
        let mut hs = server_hello(0x0303, random, 0x009e, &[]); // DHE_RSA_AES_128_GCM
        let mut ske = vec![0x00, 0x81, 0x01]; // p: 129 bytes, first byte 0x01 -> 1025 bits
        ske.extend_from_slice(&[0xff; 128]);
        ske.extend_from_slice(&[0, 1, 2, 0, 1, 9]);
        hs.extend(message(12, &ske));
        hs.extend(message(14, &[]));
        let mut r = ServerFlightReader::new();
        assert_eq!(r.push(&record(22, 0x0303, &hs)), Ok(Progress::Done));
        assert_eq!(
            r.flight().server_hello.as_ref().unwrap().downgrade_sentinel,
            Some(1)
        );
        assert_eq!(
            r.flight().key_exchange,
            Some(ServerKeyExchange::Dhe { prime_bits: 1025 })
        );
    }

    #[test]
    fn alerts_end_the_flight() {
        let mut r = ServerFlightReader::new();
        assert_eq!(r.push(&record(21, 0x0301, &[2, 70])), Ok(Progress::Done));
        assert_eq!(
            r.flight().alert(),
            Some(Alert {
                level: 2,
                description: 70
            })
        );
        // A warning (unrecognized_name) does not.
        let mut r = ServerFlightReader::new();
        assert_eq!(
            r.push(&record(21, 0x0303, &[1, 112])),
            Ok(Progress::NeedMore)
        );
        assert_eq!(r.push(&tls12_flight()), Ok(Progress::Done));
        assert_eq!(r.flight().alerts.len(), 1);
        // Alert in the middle of a split handshake message.
        let flight = tls12_flight();
        let mut r = ServerFlightReader::new();
        let mut bytes = record(22, 0x0303, &flight[5..20]);
        bytes.extend(record(21, 0x0303, &[2, 40]));
        assert_eq!(r.push(&bytes), Ok(Progress::Done));
        assert_eq!(
            r.flight().alert().unwrap().name(),
            Some("handshake_failure")
        );
        assert!(r.buffered() > 0);
    }

    #[test]
    fn non_tls_answers_are_named() {
        let mut r = ServerFlightReader::new();
        // xrdp with a weak certificate: MCS DisconnectProviderUltimatum in a TPKT.
        let e = r
            .push(&hex::decode("0300000902f0802180").unwrap())
            .unwrap_err();
        assert_eq!(
            e,
            FlightError::NotTls {
                looks_like: Sniffed::Tpkt
            }
        );
        assert_eq!(r.push(&[22]), Err(e), "the error is sticky");
        let mut r = ServerFlightReader::new();
        assert!(matches!(
            r.push(b"HTTP/1.1 400 Bad Request\r\n"),
            Err(FlightError::NotTls {
                looks_like: Sniffed::Http { .. }
            })
        ));
        let mut r = ServerFlightReader::new();
        assert_eq!(r.push(&[0x16]), Ok(Progress::NeedMore));
        assert_eq!(r.push(&[0x03, 0x03, 0x00]), Ok(Progress::NeedMore));
    }

    #[test]
    fn hostile_flights() {
        let limits = FlightLimits {
            max_bytes: 4096,
            max_records: 8,
            max_certificates: 3,
        };
        // Too many bytes.
        let mut r = ServerFlightReader::with_limits(limits);
        assert_eq!(
            r.push(&[0x16; 4097]),
            Err(FlightError::TooLarge { limit: 4096 })
        );
        // A huge chain announced up front.
        let mut r = ServerFlightReader::with_limits(limits);
        let mut hs = server_hello(0x0303, [0; 32], 0x002f, &[]);
        hs.extend_from_slice(&[11, 0x10, 0x00, 0x00]); // Certificate of 1 MiB
        assert_eq!(
            r.push(&record(22, 0x0303, &hs)),
            Err(FlightError::MessageTooLarge {
                handshake_type: 11,
                len: 0x10_0000,
                limit: 4096
            })
        );
        // Too many certificates.
        let mut r = ServerFlightReader::with_limits(limits);
        let mut hs = server_hello(0x0303, [0; 32], 0x002f, &[]);
        hs.extend(certificate(&[b"a", b"b", b"c", b"d"]));
        assert_eq!(
            r.push(&record(22, 0x0303, &hs)),
            Err(FlightError::TooManyCertificates { limit: 3 })
        );
        // Too many records.
        let mut r = ServerFlightReader::with_limits(limits);
        let sh = server_hello(0x0303, [0; 32], 0x002f, &[]);
        let bytes: Vec<u8> = sh.iter().flat_map(|b| record(22, 0x0303, &[*b])).collect();
        assert_eq!(
            r.push(&bytes),
            Err(FlightError::TooManyRecords { limit: 8 })
        );
        // Record length over the TLS maximum.
        let mut r = ServerFlightReader::new();
        assert_eq!(
            r.push(&[22, 3, 3, 0xff, 0xff]),
            Err(FlightError::RecordTooLong(0xffff))
        );
        // Message before ServerHello; repeated ServerHello; application data.
        let mut r = ServerFlightReader::new();
        assert_eq!(
            r.push(&record(22, 0x0303, &message(14, &[]))),
            Err(FlightError::UnexpectedMessage(14))
        );
        let mut r = ServerFlightReader::new();
        let mut two = server_hello(0x0303, [0; 32], 0x002f, &[]);
        two.extend(server_hello(0x0303, [0; 32], 0x002f, &[]));
        assert_eq!(
            r.push(&record(22, 0x0303, &two)),
            Err(FlightError::UnexpectedMessage(2))
        );
        let mut r = ServerFlightReader::new();
        assert_eq!(
            r.push(&record(23, 0x0303, &[1, 2, 3])),
            Err(FlightError::UnexpectedRecord("application_data"))
        );
        // Certificate list length that lies.
        let mut r = ServerFlightReader::new();
        let mut hs = server_hello(0x0303, [0; 32], 0x002f, &[]);
        hs.extend(message(11, &[0, 0, 9, 0, 0, 20, 1, 2, 3, 4, 5, 6]));
        assert!(matches!(
            r.push(&record(22, 0x0303, &hs)),
            Err(FlightError::Malformed { .. })
        ));
        // Extension running past the ServerHello.
        let mut r = ServerFlightReader::new();
        let mut sh = server_hello(0x0303, [0; 32], 0x002f, &[(43, vec![3, 4])]);
        let n = sh.len();
        sh[n - 3] = 9; // supported_versions length 2 -> 9
        assert!(matches!(
            r.push(&record(22, 0x0303, &sh)),
            Err(FlightError::Malformed { .. })
        ));
        // Unsupported ServerHello version and bad record version.
        let mut r = ServerFlightReader::new();
        let sh = server_hello(0x0304, [0; 32], 0x1301, &[]);
        assert_eq!(
            r.push(&record(22, 0x0303, &sh)),
            Err(FlightError::ServerHelloVersion(0x0304))
        );
        let mut r = ServerFlightReader::new();
        assert_eq!(
            r.push(&[22, 3, 3, 0, 0]),
            Err(FlightError::EmptyRecord("handshake"))
        );
        let mut r = ServerFlightReader::new();
        assert!(r.push(&[22, 2, 0, 0, 1, 0]).is_err());
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
            let mut r = ServerFlightReader::new();
            for c in &chunks {
                if r.push(c).is_err() { break; }
            }
            prop_assert!(r.flight().bytes <= chunks.iter().map(Vec::len).sum::<usize>());
        }

        #[test]
        fn never_panics_on_mutated_flights(pos in any::<usize>(), val in any::<u8>(), cut in any::<usize>(), split in 1usize..50) {
            let mut f = tls12_flight();
            let p = pos % f.len();
            f[p] = val;
            f.truncate(cut % (f.len() + 1));
            let mut r = ServerFlightReader::new();
            for c in f.chunks(split) {
                if r.push(c).is_err() { break; }
            }
        }

        #[test]
        fn any_split_gives_the_same_flight(split in 1usize..200) {
            let f = tls12_flight();
            let mut r = ServerFlightReader::new();
            let mut last = Progress::NeedMore;
            for c in f.chunks(split) {
                last = r.push(c).unwrap();
            }
            prop_assert_eq!(last, Progress::Done);
            prop_assert_eq!(r.flight().certificates.len(), 2);
        }
    }
}
