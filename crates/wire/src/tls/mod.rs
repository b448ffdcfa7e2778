//! TLS pieces no Rust TLS library offers (rustls speaks only TLS 1.2/1.3 with AEAD suites,
//! while RDP servers in the field still run TLS 1.0 with CBC and static-RSA suites):
//!
//! - [`ClientHello`]: a hand-built ClientHello for any version from SSL 3.0 to TLS 1.3 and any
//!   list of suite ids, with RFC 7685 padding to an exact size (MTU black-hole tests).
//! - [`ServerFlightReader`]: an incremental reader of the server's plaintext answer
//!   (ServerHello, Certificate, ServerKeyExchange, ServerHelloDone, alerts), hard-bounded.
//! - Name tables: [`suites`] (IANA cipher suites with properties and weakness classes, wrapping
//!   tls-parser's IANA table), [`alert`] and [`groups`].

pub mod alert;
pub mod client_hello;
pub mod groups;
pub mod server_flight;
pub mod suites;

use std::fmt;

pub use alert::{Alert, alert_name};
pub use client_hello::{ClientHello, ClientHelloError, KeyShare};
pub use server_flight::{
    FlightError, FlightLimits, Progress, ServerFlight, ServerFlightReader, ServerHello,
    ServerKeyExchange,
};
pub use suites::{CipherSuite, Weakness, suite, suite_name};

/// A TLS protocol version as it appears on the wire (`0x0301` = TLS 1.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtocolVersion(pub u16);

impl ProtocolVersion {
    /// SSL 3.0.
    pub const SSL3: Self = Self(0x0300);
    /// TLS 1.0.
    pub const TLS10: Self = Self(0x0301);
    /// TLS 1.1.
    pub const TLS11: Self = Self(0x0302);
    /// TLS 1.2.
    pub const TLS12: Self = Self(0x0303);
    /// TLS 1.3.
    pub const TLS13: Self = Self(0x0304);

    /// Report name, as the evidence model spells it (`TLSv1.0` ... `TLSv1.3`, `SSLv3`).
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0200 => "SSLv2",
            0x0300 => "SSLv3",
            0x0301 => "TLSv1.0",
            0x0302 => "TLSv1.1",
            0x0303 => "TLSv1.2",
            0x0304 => "TLSv1.3",
            _ => return None,
        })
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{:#06x}", self.0),
        }
    }
}

/// TLS record content types.
pub mod content_type {
    /// change_cipher_spec.
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    /// alert.
    pub const ALERT: u8 = 21;
    /// handshake.
    pub const HANDSHAKE: u8 = 22;
    /// application_data.
    pub const APPLICATION_DATA: u8 = 23;
    /// heartbeat.
    pub const HEARTBEAT: u8 = 24;
}

/// Handshake message types the probe meets.
pub mod handshake_type {
    /// hello_request.
    pub const HELLO_REQUEST: u8 = 0;
    /// client_hello.
    pub const CLIENT_HELLO: u8 = 1;
    /// server_hello (also HelloRetryRequest in TLS 1.3).
    pub const SERVER_HELLO: u8 = 2;
    /// new_session_ticket.
    pub const NEW_SESSION_TICKET: u8 = 4;
    /// certificate.
    pub const CERTIFICATE: u8 = 11;
    /// server_key_exchange.
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
    /// certificate_request.
    pub const CERTIFICATE_REQUEST: u8 = 13;
    /// server_hello_done.
    pub const SERVER_HELLO_DONE: u8 = 14;
    /// certificate_status (OCSP stapling).
    pub const CERTIFICATE_STATUS: u8 = 22;
}

/// Extension types the builder and reader use.
pub mod extension {
    /// server_name (SNI).
    pub const SERVER_NAME: u16 = 0;
    /// status_request.
    pub const STATUS_REQUEST: u16 = 5;
    /// supported_groups (formerly elliptic_curves).
    pub const SUPPORTED_GROUPS: u16 = 10;
    /// ec_point_formats.
    pub const EC_POINT_FORMATS: u16 = 11;
    /// signature_algorithms.
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    /// application_layer_protocol_negotiation.
    pub const ALPN: u16 = 16;
    /// padding (RFC 7685).
    pub const PADDING: u16 = 21;
    /// encrypt_then_mac.
    pub const ENCRYPT_THEN_MAC: u16 = 22;
    /// extended_master_secret.
    pub const EXTENDED_MASTER_SECRET: u16 = 23;
    /// session_ticket.
    pub const SESSION_TICKET: u16 = 35;
    /// supported_versions.
    pub const SUPPORTED_VERSIONS: u16 = 43;
    /// psk_key_exchange_modes.
    pub const PSK_KEY_EXCHANGE_MODES: u16 = 45;
    /// key_share.
    pub const KEY_SHARE: u16 = 51;
    /// renegotiation_info.
    pub const RENEGOTIATION_INFO: u16 = 0xff01;
}
