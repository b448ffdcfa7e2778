//! The RDP connection sequence after the security upgrade, run by ironrdp-acceptor, with the
//! points where a scenario takes over: deny after logon, fail licensing, redirect.
//!
//! The acceptor is stepped here rather than through `accept_finalize` so that the lab sees the
//! state before each step and can answer in the acceptor's place exactly where Windows does:
//! Set Error Info after the Client Info PDU, a licensing error instead of the "valid client"
//! licence, a Server Redirection PDU instead of Demand Active. ironrdp-pdu cannot encode Set
//! Error Info codes outside its table, so that PDU is written by hand.

use std::borrow::Cow;

use ironrdp_acceptor::{Acceptor, DesktopSize};
use ironrdp_async::{Framed, FramedWrite as _};
use ironrdp_connector::{ConnectorResult, Sequence as _};
use ironrdp_core::{WriteBuf, encode_vec};
use ironrdp_pdu::gcc::ClientEarlyCapabilityFlags;
use ironrdp_pdu::mcs::{ConnectInitial, SendDataIndication};
use ironrdp_pdu::nego::SecurityProtocol;
use ironrdp_pdu::rdp::capability_sets::{
    Bitmap, BitmapDrawingFlags, CapabilitySet, General, GeneralExtraFlags, Input, InputFlags,
    MajorPlatformType, MultifragmentUpdate, Order, OrderFlags, OrderSupportExFlags, Pointer,
    VirtualChannel, VirtualChannelFlags,
};
use ironrdp_pdu::rdp::headers::{ShareControlHeader, ShareControlPdu};
use ironrdp_pdu::rdp::server_license::{
    LicenseErrorCode, LicensePdu, LicensingErrorMessage, LicensingStateTransition,
};
use ironrdp_pdu::rdp::server_redirection::ServerRedirectionPdu;
use ironrdp_pdu::x224::{X224, X224Data};
use ironrdp_tokio::LocalTokioStream;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::debug;

use crate::negotiation::MCS_DISCONNECT_ULTIMATUM;

/// The MCS channel the server speaks from (MS-RDPBCGR 3.3.1.5) and the I/O channel, as the
/// acceptor assigns them.
const SERVER_CHANNEL_ID: u16 = 1002;
const IO_CHANNEL_ID: u16 = 1003;

/// What the server does once the client is authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AfterLogon {
    /// The whole connection sequence, then the session stays open until the client leaves.
    Complete,
    /// Set Error Info with this code after the Client Info PDU, then disconnect.
    Deny { error_info: u32 },
    /// Licensing Error PDU (ERR_NO_LICENSE, total abort), Set Error Info with this code,
    /// disconnect.
    LicensingError { error_info: u32 },
    /// Server Redirection PDU instead of Demand Active, then disconnect.
    Redirect(Box<ServerRedirectionPdu>),
}

/// Where the sequence ended.
#[derive(Debug)]
pub(crate) enum SessionEnd {
    Connected,
    Denied,
    Redirected,
}

/// The acceptor for a connection whose negotiation the lab has already answered.
///
/// The acceptor is fed the client's Connection Request and left to write its own Connection
/// Confirm into a scratch buffer that is thrown away: the lab sends Windows' bytes instead, and
/// the acceptor, built to support exactly the protocol the lab selected, ends up in the same
/// state as if it had answered itself.
pub(crate) fn acceptor_for(selected: u32, connection_request: &[u8]) -> ConnectorResult<Acceptor> {
    let mut acceptor = Acceptor::new(
        SecurityProtocol::from_bits_truncate(selected),
        DesktopSize {
            width: 1024,
            height: 768,
        },
        server_capabilities(),
        None,
    );
    let mut scratch = WriteBuf::new();
    acceptor.step(connection_request, None, &mut scratch)?;
    acceptor.step(&[], None, &mut scratch)?;
    Ok(acceptor)
}

fn server_capabilities() -> Vec<CapabilitySet> {
    vec![
        CapabilitySet::General(General {
            major_platform_type: MajorPlatformType::WINDOWS,
            extra_flags: GeneralExtraFlags::FASTPATH_OUTPUT_SUPPORTED
                | GeneralExtraFlags::NO_BITMAP_COMPRESSION_HDR,
            ..Default::default()
        }),
        CapabilitySet::Bitmap(Bitmap {
            pref_bits_per_pix: 32,
            desktop_width: 1024,
            desktop_height: 768,
            desktop_resize_flag: true,
            drawing_flags: BitmapDrawingFlags::ALLOW_SKIP_ALPHA,
        }),
        CapabilitySet::Order(Order::new(
            OrderFlags::NEGOTIATE_ORDER_SUPPORT | OrderFlags::ZERO_BOUNDS_DELTAS_SUPPORT,
            OrderSupportExFlags::empty(),
            0,
            0,
        )),
        CapabilitySet::Pointer(Pointer {
            color_pointer_cache_size: 25,
            pointer_cache_size: 25,
        }),
        CapabilitySet::Input(Input {
            input_flags: InputFlags::SCANCODES | InputFlags::MOUSEX | InputFlags::UNICODE,
            keyboard_layout: 0,
            keyboard_type: None,
            keyboard_subtype: 0,
            keyboard_function_key: 0,
            keyboard_ime_filename: String::new(),
        }),
        CapabilitySet::VirtualChannel(VirtualChannel {
            flags: VirtualChannelFlags::NO_COMPRESSION,
            chunk_size: Some(1600),
        }),
        CapabilitySet::MultiFragmentUpdate(MultifragmentUpdate {
            max_request_size: 8 * 1024 * 1024,
        }),
    ]
}

/// Runs the connection sequence from Basic Settings Exchange on.
pub(crate) async fn run<S>(
    stream: S,
    mut acceptor: Acceptor,
    plan: &AfterLogon,
) -> Result<SessionEnd, Box<dyn std::error::Error>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut framed: Framed<LocalTokioStream<S>> = Framed::new(stream);
    let mut buf = WriteBuf::new();
    // Set Error Info goes only to clients that announced they understand it (MS-RDPBCGR
    // 2.2.5.1.1); the others just see the disconnect, as from Windows.
    let mut client_takes_error_info = false;
    loop {
        if acceptor.get_result().is_some() {
            debug!("connection sequence complete");
            // A real session would now send graphics; the lab keeps the connection until the
            // client leaves (or the lab stops).
            drain(&mut framed).await;
            return Ok(SessionEnd::Connected);
        }
        let state = acceptor.state().name();
        match (plan, state) {
            (AfterLogon::Deny { error_info }, "LicensingExchange") => {
                let mut out = if client_takes_error_info {
                    set_error_info(*error_info)
                } else {
                    Vec::new()
                };
                out.extend_from_slice(&MCS_DISCONNECT_ULTIMATUM);
                framed.write_all(&out).await?;
                return Ok(SessionEnd::Denied);
            }
            (AfterLogon::LicensingError { error_info }, "LicensingExchange") => {
                let mut out = licensing_error()?;
                if client_takes_error_info {
                    out.extend(set_error_info(*error_info));
                }
                out.extend_from_slice(&MCS_DISCONNECT_ULTIMATUM);
                framed.write_all(&out).await?;
                return Ok(SessionEnd::Denied);
            }
            (AfterLogon::Redirect(pdu), "CapabilitiesSendServer") => {
                let mut out = server_redirection(pdu)?;
                out.extend_from_slice(&MCS_DISCONNECT_ULTIMATUM);
                framed.write_all(&out).await?;
                return Ok(SessionEnd::Redirected);
            }
            _ => {}
        }
        let input = match acceptor.next_pdu_hint() {
            Some(hint) => framed.read_by_hint(hint).await?.to_vec(),
            None => Vec::new(),
        };
        if state == "BasicSettingsWaitInitial" {
            client_takes_error_info = early_capabilities(&input).is_some_and(|flags| {
                flags.contains(ClientEarlyCapabilityFlags::SUPPORT_ERR_INFO_PDU)
            });
        }
        buf.clear();
        let written = acceptor.step(&input, None, &mut buf)?;
        if let Some(n) = written.size() {
            framed.write_all(&buf[..n]).await?;
        }
    }
}

/// earlyCapabilityFlags of the client's MCS Connect Initial (Client Core Data).
fn early_capabilities(connect_initial: &[u8]) -> Option<ClientEarlyCapabilityFlags> {
    let data = ironrdp_core::decode::<X224<X224Data<'_>>>(connect_initial)
        .ok()?
        .0;
    let initial = ironrdp_core::decode::<ConnectInitial>(data.data.as_ref()).ok()?;
    initial
        .conference_create_request
        .gcc_blocks()
        .core
        .optional_data
        .early_capability_flags
}

async fn drain<S: AsyncRead + AsyncWrite + Unpin>(framed: &mut Framed<LocalTokioStream<S>>) {
    while let Ok((_, _)) = framed.read_pdu().await {}
}

fn send_data_indication(user_data: Vec<u8>) -> Result<Vec<u8>, ironrdp_core::EncodeError> {
    encode_vec(&X224(SendDataIndication {
        initiator_id: SERVER_CHANNEL_ID,
        channel_id: IO_CHANNEL_ID,
        user_data: Cow::Owned(user_data),
    }))
}

/// A Set Error Info PDU (MS-RDPBCGR 2.2.5.1.1) for any 32-bit code, on the I/O channel.
pub(crate) fn set_error_info(code: u32) -> Vec<u8> {
    const PDUTYPE_DATAPDU: u16 = 0x0007 | 0x0010; // with TS_PROTOCOL_VERSION
    const PDUTYPE2_SET_ERROR_INFO_PDU: u8 = 0x2f;
    const STREAM_LOW: u8 = 1;
    let mut pdu = Vec::with_capacity(22);
    pdu.extend_from_slice(&22u16.to_le_bytes()); // totalLength
    pdu.extend_from_slice(&PDUTYPE_DATAPDU.to_le_bytes());
    pdu.extend_from_slice(&SERVER_CHANNEL_ID.to_le_bytes()); // pduSource
    pdu.extend_from_slice(&0u32.to_le_bytes()); // shareId: no Demand Active has announced one yet
    pdu.push(0); // pad1Octet
    pdu.push(STREAM_LOW);
    pdu.extend_from_slice(&4u16.to_le_bytes()); // uncompressedLength
    pdu.push(PDUTYPE2_SET_ERROR_INFO_PDU);
    pdu.push(0); // compressedType
    pdu.extend_from_slice(&0u16.to_le_bytes()); // compressedLength
    pdu.extend_from_slice(&code.to_le_bytes());
    send_data_indication(pdu).expect("a 22-byte PDU always encodes")
}

/// Server License Error PDU with ERR_NO_LICENSE and ST_TOTAL_ABORT (MS-RDPELE 2.2.2.7.1).
fn licensing_error() -> Result<Vec<u8>, ironrdp_core::EncodeError> {
    let mut message = LicensingErrorMessage::new_valid_client()?;
    message.error_code = LicenseErrorCode::NoLicense;
    message.state_transition = LicensingStateTransition::TotalAbort;
    let pdu: LicensePdu = message.into();
    send_data_indication(encode_vec(&pdu)?)
}

/// Enhanced Security Server Redirection PDU (MS-RDPBCGR 2.2.13.3.1).
fn server_redirection(pdu: &ServerRedirectionPdu) -> Result<Vec<u8>, ironrdp_core::EncodeError> {
    let header = ShareControlHeader {
        share_id: 0,
        pdu_source: SERVER_CHANNEL_ID,
        share_control_pdu: ShareControlPdu::ServerRedirect(pdu.clone()),
    };
    send_data_indication(encode_vec(&header)?)
}

/// The Server Redirection PDU a connection broker sends to move a user to `target`.
pub(crate) fn redirection_to(target: &str, user: &str, domain: &str) -> ServerRedirectionPdu {
    let netbios = target.split('.').next().unwrap_or(target).to_uppercase();
    ServerRedirectionPdu {
        session_id: 0,
        target_net_address: Some(target.to_owned()),
        load_balance_info: Some(
            format!("tsv://MS Terminal Services Plugin.1.{netbios}").into_bytes(),
        ),
        username: Some(user.to_owned()),
        domain: Some(domain.to_owned()),
        target_fqdn: Some(target.to_owned()),
        target_netbios_name: Some(netbios),
        ..ServerRedirectionPdu::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironrdp_pdu::rdp::headers::ShareDataPdu;
    use ironrdp_pdu::rdp::server_error_info::{ErrorInfo, ProtocolIndependentCode};

    #[test]
    fn set_error_info_decodes_with_ironrdp() {
        let bytes = set_error_info(7);
        let ctx = ironrdp_pdu::mcs::decode_send_data_indication(&bytes).unwrap();
        assert_eq!(
            (ctx.initiator_id, ctx.channel_id),
            (SERVER_CHANNEL_ID, IO_CHANNEL_ID)
        );
        let header: ShareControlHeader = ironrdp_core::decode(ctx.user_data).unwrap();
        let ShareControlPdu::Data(data) = header.share_control_pdu else {
            panic!("not a data PDU")
        };
        let ShareDataPdu::ServerSetErrorInfo(info) = data.share_data_pdu else {
            panic!("not Set Error Info")
        };
        assert_eq!(
            info.0,
            ErrorInfo::ProtocolIndependentCode(ProtocolIndependentCode::ServerDeniedConnection)
        );
    }

    #[test]
    fn redirection_decodes_with_ironrdp() {
        let pdu = redirection_to("labsrv02.rdplab.test", "labuser", "RDPLAB");
        let bytes = server_redirection(&pdu).unwrap();
        let ctx = ironrdp_pdu::mcs::decode_send_data_indication(&bytes).unwrap();
        let decoded =
            ironrdp_pdu::rdp::server_redirection::decode_server_redirection(ctx.user_data)
                .unwrap()
                .unwrap();
        assert_eq!(decoded.target_fqdn.as_deref(), Some("labsrv02.rdplab.test"));
    }
}
