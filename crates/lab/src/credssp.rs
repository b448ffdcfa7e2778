//! The server side of CredSSP (MS-CSSP) over the TLS channel, with NTLM as the only package.
//!
//! The TSRequest version the lab answers with is a knob: versions below 5 are servers without
//! the CVE-2018-0886 fix, whose public-key binding is the "echo" of versions 2–4. The binding
//! the client uses depends on the version it sees, so the lab checks it against
//! `min(client version, server version)`, the way a real peer does.
//!
//! Raw NTLM tokens only, like FreeRDP, nmap and impacket send them; a SPNEGO token (Kerberos
//! from a domain-joined mstsc) is refused by closing the connection.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::crypto::sha256;
use crate::der::{self, DerError};
use crate::identity::{LabCredentials, ServerIdentity};
use crate::ntlm::{self, LogonFailure, NtlmError, NtlmServer};

/// STATUS_LOGON_FAILURE: wrong user name or password.
pub const STATUS_LOGON_FAILURE: u32 = 0xC000_006D;

/// The Early User Authorization Result PDU for HYBRID_EX (MS-RDPBCGR 2.2.10.2): AUTHZ_SUCCESS.
pub(crate) const EARLY_USER_AUTH_SUCCESS: [u8; 4] = [0, 0, 0, 0];

/// The same PDU with AUTHZ_ACCESS_DENIED (0x00000005): the user may not log on remotely.
pub(crate) const EARLY_USER_AUTH_ACCESS_DENIED: [u8; 4] = [5, 0, 0, 0];

/// A client request bigger than this is not a TSRequest the lab will read.
const MAX_TS_REQUEST: usize = 64 * 1024;

const CLIENT_SERVER_MAGIC: &[u8] = b"CredSSP Client-To-Server Binding Hash\0";
const SERVER_CLIENT_MAGIC: &[u8] = b"CredSSP Server-To-Client Binding Hash\0";

#[derive(Debug, thiserror::Error)]
pub(crate) enum CredsspError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("malformed TSRequest: {0}")]
    Der(#[from] DerError),
    #[error("NTLM: {0}")]
    Ntlm(#[from] NtlmError),
    #[error("CredSSP protocol: {0}")]
    Protocol(&'static str),
}

/// TSRequest (MS-CSSP 2.2.1) with the one negoToken CredSSP uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TsRequest {
    pub version: u32,
    pub nego_token: Option<Vec<u8>>,
    pub auth_info: Option<Vec<u8>>,
    pub pub_key_auth: Option<Vec<u8>>,
    pub error_code: Option<u32>,
    pub client_nonce: Option<Vec<u8>>,
}

impl TsRequest {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut body = der::tlv(
            0xa0,
            &der::integer_i32(i32::try_from(self.version).unwrap_or(i32::MAX)),
        );
        if let Some(token) = &self.nego_token {
            let inner = der::tlv(0x30, &der::tlv(0xa0, &der::tlv(0x04, token)));
            body.extend(der::tlv(0xa1, &der::tlv(0x30, &inner)));
        }
        for (tag, value) in [(0xa2, &self.auth_info), (0xa3, &self.pub_key_auth)] {
            if let Some(v) = value {
                body.extend(der::tlv(tag, &der::tlv(0x04, v)));
            }
        }
        if let Some(code) = self.error_code {
            body.extend(der::tlv(
                0xa4,
                &der::integer_i32(i32::from_be_bytes(code.to_be_bytes())),
            ));
        }
        if let Some(nonce) = &self.client_nonce {
            body.extend(der::tlv(0xa5, &der::tlv(0x04, nonce)));
        }
        der::tlv(0x30, &body)
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DerError> {
        let (mut fields, _) = der::expect(bytes, 0x30)?;
        let mut req = TsRequest::default();
        while !fields.is_empty() {
            let (tag, content, rest) = der::read_tlv(fields)?;
            fields = rest;
            match tag {
                0xa0 => req.version = der::read_u32(der::expect(content, 0x02)?.0)?,
                0xa1 => {
                    let (nego_data, _) = der::expect(content, 0x30)?;
                    let (first, _) = der::expect(nego_data, 0x30)?;
                    let (token, _) = der::expect(first, 0xa0)?;
                    req.nego_token = Some(der::expect(token, 0x04)?.0.to_vec());
                }
                0xa2 => req.auth_info = Some(der::expect(content, 0x04)?.0.to_vec()),
                0xa3 => req.pub_key_auth = Some(der::expect(content, 0x04)?.0.to_vec()),
                0xa4 => req.error_code = Some(der::read_u32(der::expect(content, 0x02)?.0)?),
                0xa5 => req.client_nonce = Some(der::expect(content, 0x04)?.0.to_vec()),
                _ => {}
            }
        }
        Ok(req)
    }
}

/// Reads one DER TLV (a TSRequest) from the stream. `Ok(None)` on a clean close.
pub(crate) async fn read_der<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<Option<Vec<u8>>, CredsspError> {
    let mut buf = Vec::with_capacity(512);
    let total = loop {
        if let Some(total) = der::tlv_len(&buf)? {
            break total;
        }
        let mut byte = [0u8; 1];
        if stream.read(&mut byte).await? == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(io::Error::from(io::ErrorKind::UnexpectedEof).into())
            };
        }
        buf.push(byte[0]);
    };
    if buf.first() != Some(&0x30) || total > MAX_TS_REQUEST {
        return Err(CredsspError::Protocol("not a TSRequest"));
    }
    let have = buf.len();
    buf.resize(total, 0);
    stream.read_exact(&mut buf[have..]).await?;
    Ok(Some(buf))
}

async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Result<TsRequest, CredsspError> {
    let bytes = read_der(stream)
        .await?
        .ok_or(CredsspError::Protocol("client closed the connection"))?;
    Ok(TsRequest::decode(&bytes)?)
}

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, req: &TsRequest) -> Result<(), CredsspError> {
    stream.write_all(&req.encode()).await?;
    stream.flush().await?;
    Ok(())
}

/// What the CredSSP server is, for one connection.
pub(crate) struct CredsspServer<'a> {
    /// The TSRequest version the server answers with.
    pub version: u32,
    pub account: &'a LabCredentials,
    pub identity: &'a ServerIdentity,
    /// SubjectPublicKey of the certificate served on this connection.
    pub public_key: &'a [u8],
    /// Refuse the (correct) lab account with this NTSTATUS, as for a locked account.
    pub reject_with: Option<u32>,
}

/// How a CredSSP exchange ended, when the protocol itself went through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CredsspOutcome {
    /// The client proved the password and delegated its credentials.
    Authenticated { user: String, domain: String },
    /// The server sent this NTSTATUS in TSRequest.errorCode and stops.
    Rejected(u32),
}

impl CredsspServer<'_> {
    pub(crate) async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
    ) -> Result<CredsspOutcome, CredsspError> {
        let first = read_request(stream).await?;
        let effective = first.version.min(self.version);
        let negotiate = first
            .nego_token
            .ok_or(CredsspError::Protocol("first TSRequest without negoTokens"))?;
        if !negotiate.starts_with(ntlm::SIGNATURE) {
            return Err(CredsspError::Protocol("only raw NTLM tokens are supported"));
        }
        let (ntlm, challenge) = NtlmServer::challenge(self.identity, &negotiate)?;
        send(
            stream,
            &TsRequest {
                version: self.version,
                nego_token: Some(challenge),
                ..TsRequest::default()
            },
        )
        .await?;

        let second = read_request(stream).await?;
        let authenticate = second.nego_token.as_deref().ok_or(CredsspError::Protocol(
            "no AUTHENTICATE in the second TSRequest",
        ))?;
        let mut session = match ntlm.authenticate(authenticate, self.account)? {
            Ok(session) => session,
            Err(LogonFailure::UnknownUser | LogonFailure::WrongPassword) => {
                return self.reject(stream, effective, STATUS_LOGON_FAILURE).await;
            }
        };
        if let Some(status) = self.reject_with {
            return self.reject(stream, effective, status).await;
        }

        // A client may send the public key binding with the AUTHENTICATE (all common ones do)
        // or in a TSRequest of its own.
        let (pub_key_auth, nonce) = match second.pub_key_auth {
            Some(p) => (p, second.client_nonce),
            None => {
                let third = read_request(stream).await?;
                (
                    third
                        .pub_key_auth
                        .ok_or(CredsspError::Protocol("no pubKeyAuth from the client"))?,
                    third.client_nonce.or(second.client_nonce),
                )
            }
        };
        let proof = session.unseal(&pub_key_auth).ok_or(CredsspError::Protocol(
            "pubKeyAuth not sealed with the NTLM session",
        ))?;
        let answer = if effective >= 5 {
            let nonce = nonce.ok_or(CredsspError::Protocol("no clientNonce for CredSSP 5+"))?;
            if proof != sha256(&[CLIENT_SERVER_MAGIC, &nonce, self.public_key]) {
                return Err(CredsspError::Protocol(
                    "public key binding hash mismatch (TLS intercepted?)",
                ));
            }
            sha256(&[SERVER_CLIENT_MAGIC, &nonce, self.public_key]).to_vec()
        } else {
            if proof != self.public_key {
                return Err(CredsspError::Protocol(
                    "public key echo mismatch (TLS intercepted?)",
                ));
            }
            let mut echo = self.public_key.to_vec();
            if let Some(first) = echo.first_mut() {
                *first = first.wrapping_add(1);
            }
            echo
        };
        send(
            stream,
            &TsRequest {
                version: self.version,
                pub_key_auth: Some(session.seal(&answer)),
                ..TsRequest::default()
            },
        )
        .await?;

        let last = read_request(stream).await?;
        let auth_info = last.auth_info.ok_or(CredsspError::Protocol(
            "no authInfo (delegated credentials)",
        ))?;
        let credentials = session.unseal(&auth_info).ok_or(CredsspError::Protocol(
            "authInfo not sealed with the NTLM session",
        ))?;
        let (user, domain) =
            password_creds(&credentials).unwrap_or((session.user.clone(), session.domain.clone()));
        Ok(CredsspOutcome::Authenticated { user, domain })
    }

    async fn reject<S: AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        effective: u32,
        status: u32,
    ) -> Result<CredsspOutcome, CredsspError> {
        // errorCode exists from version 3 on (MS-CSSP 2.2.1); older peers just see the close.
        if effective >= 3 {
            send(
                stream,
                &TsRequest {
                    version: self.version,
                    error_code: Some(status),
                    ..TsRequest::default()
                },
            )
            .await?;
        }
        Ok(CredsspOutcome::Rejected(status))
    }
}

/// User and domain from TSCredentials carrying TSPasswordCreds (credType 1). `None` for other
/// credential types (smart card, Remote Credential Guard) or a malformed structure.
fn password_creds(ts_credentials: &[u8]) -> Option<(String, String)> {
    let (fields, _) = der::expect(ts_credentials, 0x30).ok()?;
    let (cred_type, rest) = der::expect(fields, 0xa0).ok()?;
    if der::read_u32(der::expect(cred_type, 0x02).ok()?.0).ok()? != 1 {
        return None;
    }
    let (creds, _) = der::expect(rest, 0xa1).ok()?;
    let (creds, _) = der::expect(creds, 0x04).ok()?;
    let (seq, _) = der::expect(creds, 0x30).ok()?;
    let (domain, rest) = der::expect(seq, 0xa0).ok()?;
    let (user, _) = der::expect(rest, 0xa1).ok()?;
    let text = |field: &[u8]| -> Option<String> {
        let bytes = der::expect(field, 0x04).ok()?.0;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Some(String::from_utf16_lossy(&units))
    };
    Some((text(user)?, text(domain)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts_request_round_trips() {
        let req = TsRequest {
            version: 6,
            nego_token: Some(b"NTLMSSP\0abc".to_vec()),
            pub_key_auth: Some(vec![1; 200]),
            error_code: Some(STATUS_LOGON_FAILURE),
            client_nonce: Some(vec![9; 32]),
            ..TsRequest::default()
        };
        assert_eq!(TsRequest::decode(&req.encode()).unwrap(), req);
    }

    #[test]
    fn encodes_like_sspi() {
        // The TSRequest v6 + NTLM NEGOTIATE prefix from CRATES.md §2.
        let req = TsRequest {
            version: 6,
            nego_token: Some(vec![0; 40]),
            ..TsRequest::default()
        };
        assert_eq!(
            &req.encode()[..10],
            &[0x30, 0x37, 0xa0, 0x03, 0x02, 0x01, 0x06, 0xa1, 0x30, 0x30]
        );
    }
}
