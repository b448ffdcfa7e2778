//! What the server says when it ends a connection, read from the raw PDUs.
//!
//! ironrdp-connector does not surface these reliably: a Set Error Info PDU that arrives during
//! licensing is reported as a generic decode error, `ServerSetErrorInfoPdu` refuses codes
//! outside its table, and a Disconnect Provider Ultimatum is not interpreted (CRATES.md §1.4,
//! §10). So every PDU is looked at here before the connector sees it, and the raw numbers are
//! kept.

use ironrdp_pdu::mcs::{self, McsMessage};
use ironrdp_pdu::x224::X224;

use crate::evidence::{LicenseError, Redirection};

/// Share Control Header pduType for a Data PDU (the low 4 bits).
const PDUTYPE_DATAPDU: u16 = 0x7;
/// Share Data Header pduType2 of a Set Error Info PDU (MS-RDPBCGR 2.2.5.1.1).
const PDUTYPE2_SET_ERROR_INFO_PDU: u8 = 0x2F;
/// Basic Security Header flag of a licensing PDU.
const SEC_LICENSE_PKT: u16 = 0x0080;
/// Licensing preamble bMsgType of an error alert (MS-RDPBCGR 2.2.1.12.1.1).
const ERROR_ALERT: u8 = 0xFF;
/// dwErrorCode of the "everything is fine" licensing answer.
pub(crate) const STATUS_VALID_CLIENT: u32 = 0x07;

/// The user data of an MCS Send Data Indication inside X.224 Data, and its channel.
fn send_data_indication(pdu: &[u8]) -> Option<(u16, &[u8])> {
    let ctx = mcs::decode_send_data_indication(pdu).ok()?;
    Some((ctx.channel_id, ctx.user_data))
}

/// The MCS channel a server PDU was sent on.
pub(crate) fn channel_of(pdu: &[u8]) -> Option<u16> {
    send_data_indication(pdu).map(|(channel, _)| channel)
}

/// The errorInfo of a Set Error Info PDU: Share Control Header (totalLength, pduType,
/// pduSource), Share Data Header (shareId, pad, streamId, uncompressedLength, pduType2,
/// compressedType, compressedLength), then the 32-bit code. Any code is returned, known or not.
pub(crate) fn set_error_info(pdu: &[u8]) -> Option<u32> {
    let (_, d) = send_data_indication(pdu)?;
    let pdu_type = u16::from_le_bytes([*d.get(2)?, *d.get(3)?]);
    if pdu_type & 0xF != PDUTYPE_DATAPDU || *d.get(14)? != PDUTYPE2_SET_ERROR_INFO_PDU {
        return None;
    }
    Some(u32::from_le_bytes(d.get(18..22)?.try_into().ok()?))
}

/// A Licensing Error Message: Basic Security Header (flags with SEC_LICENSE_PKT, flagsHi),
/// preamble (bMsgType = ERROR_ALERT, flags, wMsgSize), dwErrorCode, dwStateTransition.
/// "Valid client" (the normal end of licensing on most servers) is not an error and gives
/// `None`.
pub(crate) fn license_error(pdu: &[u8]) -> Option<LicenseError> {
    let (_, d) = send_data_indication(pdu)?;
    let flags = u16::from_le_bytes([*d.first()?, *d.get(1)?]);
    if flags & SEC_LICENSE_PKT == 0 || *d.get(4)? != ERROR_ALERT {
        return None;
    }
    let code = u32::from_le_bytes(d.get(8..12)?.try_into().ok()?);
    let state_transition = u32::from_le_bytes(d.get(12..16)?.try_into().ok()?);
    (code != STATUS_VALID_CLIENT).then(|| LicenseError {
        code,
        name: license_error_name(code).to_string(),
        state_transition,
    })
}

/// dwErrorCode names (MS-RDPELE 2.2.2.7.1).
pub(crate) fn license_error_name(code: u32) -> &'static str {
    match code {
        0x01 => "ERR_INVALID_SERVER_CERTIFICATE",
        0x02 => "ERR_NO_LICENSE",
        0x03 => "ERR_INVALID_MAC",
        0x04 => "ERR_INVALID_SCOPE",
        0x06 => "ERR_NO_LICENSE_SERVER",
        0x07 => "STATUS_VALID_CLIENT",
        0x08 => "ERR_INVALID_CLIENT",
        0x0B => "ERR_INVALID_PRODUCTID",
        0x0C => "ERR_INVALID_MESSAGE_LEN",
        _ => "unknown licensing error",
    }
}

/// The reason of an MCS Disconnect Provider Ultimatum, as IronRDP describes it.
pub(crate) fn disconnect_reason(pdu: &[u8]) -> Option<String> {
    match ironrdp_core::decode::<X224<McsMessage<'_>>>(pdu).ok()?.0 {
        McsMessage::DisconnectProviderUltimatum(d) => Some(d.reason.to_string()),
        _ => None,
    }
}

/// The parts of a Server Redirection PDU worth reporting (never its password cookie).
pub(crate) fn redirection(
    pdu: &ironrdp_pdu::rdp::server_redirection::ServerRedirectionPdu,
) -> Redirection {
    let load_balance_info = pdu.load_balance_info.as_ref().map(|b| {
        String::from_utf8_lossy(b)
            .trim_end_matches(['\0', '\r', '\n'])
            .to_string()
    });
    Redirection {
        target: pdu
            .target_fqdn
            .clone()
            .or_else(|| pdu.target_net_address.clone())
            .or_else(|| pdu.target_netbios_name.clone()),
        target_fqdn: pdu.target_fqdn.clone(),
        target_net_address: pdu.target_net_address.clone(),
        target_netbios_name: pdu.target_netbios_name.clone(),
        load_balance_info,
        session_id: pdu.session_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    /// A Send Data Indication from the server channel (1002) on the I/O channel (1003).
    fn indication(user_data: Vec<u8>) -> Vec<u8> {
        ironrdp_core::encode_vec(&X224(mcs::SendDataIndication {
            initiator_id: 1002,
            channel_id: 1003,
            user_data: Cow::Owned(user_data),
        }))
        .unwrap()
    }

    fn set_error_info_pdu(code: u32) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&22u16.to_le_bytes());
        d.extend_from_slice(&0x17u16.to_le_bytes());
        d.extend_from_slice(&1002u16.to_le_bytes());
        d.extend_from_slice(&0u32.to_le_bytes());
        d.extend_from_slice(&[0, 1]);
        d.extend_from_slice(&4u16.to_le_bytes());
        d.extend_from_slice(&[0x2F, 0]);
        d.extend_from_slice(&0u16.to_le_bytes());
        d.extend_from_slice(&code.to_le_bytes());
        indication(d)
    }

    #[test]
    fn set_error_info_keeps_any_code() {
        assert_eq!(set_error_info(&set_error_info_pdu(0x7)), Some(0x7));
        // 0x8 is not in IronRDP's table (its decoder refuses it); the number is kept.
        assert_eq!(set_error_info(&set_error_info_pdu(0x8)), Some(0x8));
        assert_eq!(channel_of(&set_error_info_pdu(0x8)), Some(1003));
    }

    #[test]
    fn truncated_or_other_pdus_are_not_set_error_info() {
        let full = set_error_info_pdu(0x9);
        for n in 0..full.len() {
            assert_eq!(set_error_info(&full[..n]), None, "prefix of {n} bytes");
        }
        assert_eq!(
            set_error_info(b"\x03\x00\x00\x09\x02\xf0\x80\x21\x80"),
            None
        );
    }

    #[test]
    fn licensing_error_and_valid_client() {
        let alert = |code: u32| {
            let mut d = vec![0x80, 0x00, 0x00, 0x00, 0xFF, 0x03, 0x10, 0x00];
            d.extend_from_slice(&code.to_le_bytes());
            d.extend_from_slice(&1u32.to_le_bytes());
            d.extend_from_slice(&[0x04, 0x00, 0x00, 0x00]);
            indication(d)
        };
        let e = license_error(&alert(2)).unwrap();
        assert_eq!(
            (e.code, e.name.as_str(), e.state_transition),
            (2, "ERR_NO_LICENSE", 1)
        );
        assert_eq!(license_error(&alert(STATUS_VALID_CLIENT)), None);
    }

    #[test]
    fn disconnect_provider_ultimatum_reason() {
        // The bytes the lab (and xrdp) send when they give up.
        let reason = disconnect_reason(&[0x03, 0x00, 0x00, 0x09, 0x02, 0xf0, 0x80, 0x21, 0x80]);
        assert!(reason.is_some());
        assert_eq!(disconnect_reason(&set_error_info_pdu(7)), None);
    }
}
