//! `Stage<T>`: the outcome of one probe stage.
//!
//! Every stage ends in exactly one of three ways: it completed with a value, it failed with a
//! typed error (naming the stage, the elapsed time and what was seen on the wire), or it was
//! skipped with a reason. A failed stage may still carry the partial value it gathered, so that
//! nothing already observed is lost.
//!
//! JSON shape (scripts rely on it): the value's fields sit beside `status`, so
//! `evidence.tcp.status`, `evidence.tcp.error.kind` and `evidence.negotiation.supported` are all
//! one level deep.
//!
//! ```json
//! {"status": "ok", "elapsed_ms": 1.8, "address": "127.0.0.1:3389", ...}
//! {"status": "failed", "error": {"stage": "tcp", "kind": "refused", ...}, "attempts": [...]}
//! {"status": "skipped", "reason": "target is an IP address"}
//! ```

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// The probe stages, in pipeline order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageName {
    Dns,
    Tcp,
    Negotiation,
    Tls,
    Credssp,
    Auth,
    Quality,
    Udp,
    Offline,
}

impl StageName {
    pub fn as_str(self) -> &'static str {
        match self {
            StageName::Dns => "dns",
            StageName::Tcp => "tcp",
            StageName::Negotiation => "negotiation",
            StageName::Tls => "tls",
            StageName::Credssp => "credssp",
            StageName::Auth => "auth",
            StageName::Quality => "quality",
            StageName::Udp => "udp",
            StageName::Offline => "offline",
        }
    }
}

impl fmt::Display for StageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a stage failed, as a small closed vocabulary scripts can match on (`error.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The name does not exist (NXDOMAIN).
    NxDomain,
    /// The resolver answered with an error (SERVFAIL, refused) or no address.
    NoAnswer,
    /// The resolver could not be used at all (no configuration).
    Resolver,
    /// TCP reset at connect: nothing listens.
    Refused,
    /// No answer within the deadline.
    Timeout,
    /// ICMP host or network unreachable, or no route.
    Unreachable,
    /// The peer reset an established connection.
    Reset,
    /// The peer closed the connection cleanly (EOF) before answering.
    Closed,
    /// The reply is not RDP (HTTP, SSH banner, TLS record, garbage).
    NotRdp,
    /// The peer spoke the protocol wrongly (bad length, wrong code, malformed structure).
    Protocol,
    /// The peer sent a TLS alert.
    TlsAlert,
    /// The TLS handshake failed for another reason.
    Tls,
    /// The server refused with a protocol-level failure code (RDP_NEG_FAILURE, CredSSP error).
    Refusal,
    /// The peer sent more than we accept (a length over our bound).
    TooLarge,
    /// A local operating-system error (no permission, no ephemeral port, ...).
    Io,
    /// Nothing to do: the check cannot run against this server as configured.
    Unsupported,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NxDomain => "nx_domain",
            ErrorKind::NoAnswer => "no_answer",
            ErrorKind::Resolver => "resolver",
            ErrorKind::Refused => "refused",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::Reset => "reset",
            ErrorKind::Closed => "closed",
            ErrorKind::NotRdp => "not_rdp",
            ErrorKind::Protocol => "protocol",
            ErrorKind::TlsAlert => "tls_alert",
            ErrorKind::Tls => "tls",
            ErrorKind::Refusal => "refusal",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Io => "io",
            ErrorKind::Unsupported => "unsupported",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The bytes a peer sent before things went wrong, kept (bounded) for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// How many bytes arrived in total.
    pub bytes: usize,
    /// The first bytes, hex encoded (at most [`Seen::MAX_KEPT`]).
    pub head_hex: String,
    /// What the bytes look like ("HTTP response", "TLS alert", "SSH banner").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub looks_like: Option<String>,
}

impl Seen {
    /// Bytes kept in `head_hex`.
    pub const MAX_KEPT: usize = 64;

    pub fn from_bytes(bytes: &[u8]) -> Self {
        Seen {
            bytes: bytes.len(),
            head_hex: hex::encode(&bytes[..bytes.len().min(Self::MAX_KEPT)]),
            looks_like: None,
        }
    }
}

/// A typed stage failure: which stage, what kind, after how long, and what was seen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageError {
    pub stage: StageName,
    pub kind: ErrorKind,
    /// A sentence for humans; never contains credentials.
    pub message: String,
    pub elapsed_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<Seen>,
    /// A protocol code that came with the failure (RDP_NEG failure name, TLS alert name, NTSTATUS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl StageError {
    pub fn new(
        stage: StageName,
        kind: ErrorKind,
        elapsed: Duration,
        message: impl Into<String>,
    ) -> Self {
        StageError {
            stage,
            kind,
            message: message.into(),
            elapsed_ms: millis(elapsed),
            seen: None,
            code: None,
        }
    }

    pub fn with_seen(mut self, seen: Seen) -> Self {
        self.seen = Some(seen);
        self
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{} after {:.0} ms] {}: {}",
            self.stage, self.elapsed_ms, self.kind, self.message
        )
    }
}

impl std::error::Error for StageError {}

/// Milliseconds as a float with microsecond resolution, the unit used throughout the JSON.
pub fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// The outcome of one stage.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage<T> {
    Ok {
        elapsed_ms: f64,
        value: T,
    },
    Failed {
        error: StageError,
        partial: Option<T>,
    },
    Skipped {
        reason: String,
    },
}

impl<T> Default for Stage<T> {
    fn default() -> Self {
        Stage::Skipped {
            reason: "not run".into(),
        }
    }
}

impl<T> Stage<T> {
    pub fn ok(elapsed: Duration, value: T) -> Self {
        Stage::Ok {
            elapsed_ms: millis(elapsed),
            value,
        }
    }

    pub fn failed(error: StageError) -> Self {
        Stage::Failed {
            error,
            partial: None,
        }
    }

    pub fn failed_with(error: StageError, partial: T) -> Self {
        Stage::Failed {
            error,
            partial: Some(partial),
        }
    }

    pub fn skipped(reason: impl Into<String>) -> Self {
        Stage::Skipped {
            reason: reason.into(),
        }
    }

    /// The value of a completed stage.
    pub fn value(&self) -> Option<&T> {
        match self {
            Stage::Ok { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The value of a completed stage, or the partial value of a failed one.
    pub fn observed(&self) -> Option<&T> {
        match self {
            Stage::Ok { value, .. } => Some(value),
            Stage::Failed { partial, .. } => partial.as_ref(),
            Stage::Skipped { .. } => None,
        }
    }

    pub fn error(&self) -> Option<&StageError> {
        match self {
            Stage::Failed { error, .. } => Some(error),
            _ => None,
        }
    }

    pub fn is_ok(&self) -> bool {
        matches!(self, Stage::Ok { .. })
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, Stage::Failed { .. })
    }

    pub fn is_skipped(&self) -> bool {
        matches!(self, Stage::Skipped { .. })
    }

    pub fn status(&self) -> StageStatus {
        match self {
            Stage::Ok { .. } => StageStatus::Ok,
            Stage::Failed { .. } => StageStatus::Failed,
            Stage::Skipped { .. } => StageStatus::Skipped,
        }
    }

    /// The error kind of a failed stage.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        self.error().map(|e| e.kind)
    }

    /// Elapsed time of a completed or failed stage.
    pub fn elapsed_ms(&self) -> Option<f64> {
        match self {
            Stage::Ok { elapsed_ms, .. } => Some(*elapsed_ms),
            Stage::Failed { error, .. } => Some(error.elapsed_ms),
            Stage::Skipped { .. } => None,
        }
    }

    pub fn value_mut(&mut self) -> Option<&mut T> {
        match self {
            Stage::Ok { value, .. } => Some(value),
            Stage::Failed { partial, .. } => partial.as_mut(),
            Stage::Skipped { .. } => None,
        }
    }
}

/// `status` as it appears in the JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    Ok,
    Failed,
    Skipped,
}

/// The flat JSON form of a stage (see the module documentation).
#[derive(Serialize, Deserialize)]
struct StageRepr<T> {
    status: StageStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    elapsed_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<StageError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(flatten)]
    value: Option<T>,
}

impl<T: Serialize> Serialize for Stage<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Borrowed<'a, T> {
            status: StageStatus,
            #[serde(skip_serializing_if = "Option::is_none")]
            elapsed_ms: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<&'a StageError>,
            #[serde(skip_serializing_if = "Option::is_none")]
            reason: Option<&'a str>,
            #[serde(flatten, skip_serializing_if = "Option::is_none")]
            value: Option<&'a T>,
        }
        let repr = match self {
            Stage::Ok { elapsed_ms, value } => Borrowed {
                status: StageStatus::Ok,
                elapsed_ms: Some(*elapsed_ms),
                error: None,
                reason: None,
                value: Some(value),
            },
            Stage::Failed { error, partial } => Borrowed {
                status: StageStatus::Failed,
                elapsed_ms: Some(error.elapsed_ms),
                error: Some(error),
                reason: None,
                value: partial.as_ref(),
            },
            Stage::Skipped { reason } => Borrowed {
                status: StageStatus::Skipped,
                elapsed_ms: None,
                error: None,
                reason: Some(reason),
                value: None,
            },
        };
        repr.serialize(serializer)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Stage<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let repr = StageRepr::<T>::deserialize(deserializer)?;
        Ok(match repr.status {
            StageStatus::Ok => Stage::Ok {
                elapsed_ms: repr.elapsed_ms.unwrap_or(0.0),
                value: repr
                    .value
                    .ok_or_else(|| D::Error::custom("stage status ok without its value"))?,
            },
            StageStatus::Failed => Stage::Failed {
                error: repr
                    .error
                    .ok_or_else(|| D::Error::custom("stage status failed without error"))?,
                partial: repr.value,
            },
            StageStatus::Skipped => Stage::Skipped {
                reason: repr.reason.unwrap_or_default(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Probe {
        address: String,
        #[serde(default)]
        tries: Vec<u32>,
    }

    fn roundtrip(stage: &Stage<Probe>) -> Stage<Probe> {
        let json = serde_json::to_string(stage).unwrap();
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn ok_stage_puts_value_fields_beside_status() {
        let s = Stage::ok(
            Duration::from_micros(1500),
            Probe {
                address: "a".into(),
                tries: vec![1],
            },
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["status"], "ok");
        assert_eq!(v["address"], "a");
        assert_eq!(v["elapsed_ms"], 1.5);
        assert_eq!(roundtrip(&s), s);
    }

    #[test]
    fn failed_stage_keeps_error_and_partial_value() {
        let err = StageError::new(
            StageName::Tcp,
            ErrorKind::Refused,
            Duration::from_millis(2),
            "reset",
        )
        .with_seen(Seen::from_bytes(b"HTTP/1.1"));
        let s = Stage::failed_with(
            err,
            Probe {
                address: "b".into(),
                tries: vec![],
            },
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["status"], "failed");
        assert_eq!(v["error"]["kind"], "refused");
        assert_eq!(v["error"]["stage"], "tcp");
        assert_eq!(v["address"], "b");
        assert_eq!(roundtrip(&s), s);
    }

    #[test]
    fn failed_stage_without_partial_roundtrips_to_none() {
        let err = StageError::new(
            StageName::Tls,
            ErrorKind::Timeout,
            Duration::from_secs(5),
            "no answer",
        );
        let s: Stage<Probe> = Stage::failed(err);
        assert_eq!(roundtrip(&s), s);
    }

    #[test]
    fn skipped_stage_has_reason() {
        let s: Stage<Probe> = Stage::skipped("literal IP");
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["status"], "skipped");
        assert_eq!(v["reason"], "literal IP");
        assert_eq!(roundtrip(&s), s);
    }

    #[test]
    fn ok_without_value_is_rejected() {
        let r: Result<Stage<Probe>, _> = serde_json::from_str(r#"{"status":"ok"}"#);
        assert!(r.is_err());
    }
}
