//! A full RDP client built on ironrdp-connector (an independent implementation: sspi's NTLM and
//! CredSSP client, IronRDP's connection sequence), driven step by step so a test can see where
//! the server stopped it and which raw Set Error Info code it sent.

use std::net::SocketAddr;
use std::time::Duration;

use ironrdp_async::{Framed, FramedWrite as _};
use ironrdp_connector::credssp::CredsspSequence;
use ironrdp_connector::{
    ClientConnector, ClientConnectorState, Config, ConnectionOutcome, ConnectorErrorKind,
    ConnectorResult, Credentials, DesktopSize, Sequence as _, ServerName, State as _,
};
use ironrdp_core::WriteBuf;
use ironrdp_pdu::gcc::KeyboardType;
use ironrdp_pdu::rdp::capability_sets::MajorPlatformType;
use ironrdp_pdu::rdp::client_info::{PerformanceFlags, TimezoneInfo};
use ironrdp_tokio::TokioStream;
use tokio::net::TcpStream;

/// How far a connection got and what the server said.
#[derive(Debug, Default)]
pub struct Attempt {
    /// The last connector state reached (`Connected`, `Redirected`, or where it failed).
    pub stage: String,
    pub connected: bool,
    pub error: Option<String>,
    /// TSRequest.errorCode, when CredSSP failed with one.
    pub credssp_status: Option<u32>,
    /// Every Set Error Info code seen.
    pub error_info: Vec<u32>,
    /// License error code of a Licensing Error PDU other than STATUS_VALID_CLIENT.
    pub license_error: Option<u32>,
    pub redirected_to: Option<String>,
}

struct NoKdc;

impl ironrdp_async::NetworkClient for NoKdc {
    async fn send(
        &mut self,
        _: &ironrdp_connector::sspi::NetworkRequest,
    ) -> ConnectorResult<Vec<u8>> {
        Err(ironrdp_connector::general_err!("no KDC in the lab"))
    }
}

fn config(user: &str, password: &str, credssp: bool) -> Config {
    Config {
        desktop_size: DesktopSize {
            width: 1024,
            height: 768,
        },
        monitor_layout: None,
        desktop_scale_factor: 0,
        desktop_physical_size: None,
        desktop_orientation: None,
        device_scale_factor: None,
        monitor_extended_layout: None,
        relative_mouse_input: false,
        enable_tls: true,
        enable_credssp: credssp,
        enable_standard_rdp_security: false,
        credentials: Credentials::UsernamePassword {
            username: user.to_owned(),
            password: password.to_owned(),
        },
        domain: None,
        client_build: 0,
        client_name: "labtest".to_owned(),
        keyboard_type: KeyboardType::IBM_ENHANCED,
        keyboard_subtype: 0,
        keyboard_functional_keys_count: 12,
        keyboard_layout: 0,
        connection_type: ironrdp_pdu::gcc::ConnectionType::Lan,
        ime_file_name: String::new(),
        bitmap: None,
        dig_product_id: String::new(),
        client_dir: String::new(),
        alternate_shell: String::new(),
        work_dir: String::new(),
        remote_application_mode: false,
        rail_support_level: ironrdp_pdu::rdp::capability_sets::RailSupportLevel::empty(),
        platform: MajorPlatformType::UNIX,
        hardware_id: None,
        request_data: None,
        autologon: false,
        enable_audio_playback: false,
        enable_audio_capture: false,
        performance_flags: PerformanceFlags::default(),
        license_cache: None,
        timezone_info: TimezoneInfo::default(),
        compression_type: None,
        enable_server_pointer: false,
        pointer_software_rendering: false,
        multitransport_flags: None,
        support_dyn_vc_gfx_protocol: false,
    }
}

/// Set Error Info code carried by a raw Send Data Indication, if that is what it is.
pub fn raw_set_error_info(pdu: &[u8]) -> Option<u32> {
    let ctx = ironrdp_pdu::mcs::decode_send_data_indication(pdu).ok()?;
    let d = ctx.user_data;
    let pdu_type = u16::from_le_bytes([*d.get(2)?, *d.get(3)?]);
    if pdu_type & 0xf != 7 || *d.get(14)? != 0x2f {
        return None;
    }
    Some(u32::from_le_bytes(d.get(18..22)?.try_into().ok()?))
}

/// License error code of a raw Licensing Error PDU (skipping the Basic Security Header).
pub fn raw_license_error(pdu: &[u8]) -> Option<u32> {
    let ctx = ironrdp_pdu::mcs::decode_send_data_indication(pdu).ok()?;
    let d = ctx.user_data;
    // flags(2) flagsHi(2) | bMsgType(1)=0xFF flags(1) wMsgSize(2) | dwErrorCode(4)
    let flags = u16::from_le_bytes([*d.first()?, *d.get(1)?]);
    if flags & 0x0080 == 0 || *d.get(4)? != 0xff {
        return None;
    }
    Some(u32::from_le_bytes(d.get(8..12)?.try_into().ok()?))
}

/// Connects with `user`/`password` (CredSSP when `credssp`), and follows the sequence as far as
/// the server lets it.
pub async fn connect(addr: SocketAddr, user: &str, password: &str, credssp: bool) -> Attempt {
    let mut attempt = Attempt::default();
    match tokio::time::timeout(
        Duration::from_secs(20),
        run(addr, user, password, credssp, &mut attempt),
    )
    .await
    {
        Ok(Ok(())) => {}
        Ok(Err(e)) => attempt.error = Some(e),
        Err(_) => attempt.error = Some("timed out".to_owned()),
    }
    attempt
}

async fn run(
    addr: SocketAddr,
    user: &str,
    password: &str,
    credssp: bool,
    a: &mut Attempt,
) -> Result<(), String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let client_addr = tcp.local_addr().map_err(|e| e.to_string())?;
    let mut framed = Framed::<TokioStream<TcpStream>>::new(tcp);
    let mut connector = ClientConnector::new(config(user, password, credssp), client_addr);
    a.stage = connector.state.name().to_owned();
    let should = ironrdp_async::connect_begin(&mut framed, &mut connector)
        .await
        .map_err(|e| format!("negotiation: {e}"))?;
    let tcp = framed.into_inner_no_leftover();

    let (tls_config, capture) = super::capturing_config();
    let tls = tokio_rustls::TlsConnector::from(tls_config)
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let leaf = capture.0.lock().unwrap()[0].clone();
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf).map_err(|e| e.to_string())?;
    let public_key = cert.public_key().subject_public_key.data.to_vec();
    ironrdp_async::mark_as_upgraded(should, &mut connector);
    let mut framed = Framed::<TokioStream<_>>::new(tls);
    let mut buf = WriteBuf::new();

    if connector.should_perform_credssp() {
        a.stage = "Credssp".to_owned();
        let ClientConnectorState::Credssp { selected_protocol } = connector.state else {
            return Err("not in the CredSSP state".to_owned());
        };
        let (sequence, ts_request) = CredsspSequence::init(
            connector.config.credentials.clone(),
            None,
            selected_protocol,
            ServerName::new("localhost"),
            public_key,
            None,
        )
        .map_err(|e| e.to_string())?;
        if let Err(e) =
            ironrdp_async::perform_credssp(&mut framed, &mut NoKdc, &mut buf, sequence, ts_request)
                .await
        {
            if let ConnectorErrorKind::Credssp(sspi_error) = e.kind() {
                a.credssp_status = sspi_error.nstatus.map(|s| s.0);
            }
            return Err(format!("CredSSP: {e}"));
        }
        connector.mark_credssp_as_done();
    }

    loop {
        if let Some(outcome) = connector.state.take_outcome() {
            match outcome {
                ConnectionOutcome::Connected(_) => {
                    a.stage = "Connected".to_owned();
                    a.connected = true;
                }
                ConnectionOutcome::Redirected(r) => {
                    a.stage = "Redirected".to_owned();
                    a.redirected_to = r.target_fqdn.clone().or(r.target_net_address.clone());
                }
            }
            return Ok(());
        }
        a.stage = connector.state.name().to_owned();
        let pdu = match connector.next_pdu_hint() {
            Some(hint) => framed
                .read_by_hint(hint)
                .await
                .map_err(|e| format!("read: {e}"))?
                .to_vec(),
            None => Vec::new(),
        };
        a.error_info.extend(raw_set_error_info(&pdu));
        if let Some(code) = raw_license_error(&pdu).filter(|c| *c != 7) {
            a.license_error = Some(code);
        }
        buf.clear();
        match connector.step(&pdu, None, &mut buf) {
            Ok(written) => {
                if let Some(n) = written.size() {
                    framed
                        .write_all(&buf[..n])
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            Err(e) => {
                // Collect what the server sends before it closes (Set Error Info, disconnect).
                while let Ok(Ok((_, more))) =
                    tokio::time::timeout(Duration::from_secs(2), framed.read_pdu()).await
                {
                    a.error_info.extend(raw_set_error_info(&more));
                    if let Some(code) = raw_license_error(&more).filter(|c| *c != 7) {
                        a.license_error = Some(code);
                    }
                }
                return Err(format!("{}: {e}", a.stage));
            }
        }
    }
}
