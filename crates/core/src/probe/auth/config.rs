//! The ironrdp-connector configuration of an authenticated attempt.
//!
//! `Config` has 42 public fields and no `Default` (CRATES.md §1.5), so every field is spelled
//! out here, once. The choices that matter for a diagnosis:
//!
//! - TLS and CredSSP on, Standard RDP Security off: a password never travels without TLS.
//! - The X.224 cookie is `--cookie` or `rdpdoctor`, never the user name: IronRDP would put the
//!   user name in the clear before TLS (`Cookie: mstshash=USER`) when no cookie is given.
//! - `autologon`: the Client Info PDU asks the server to use the credentials, as mstsc does
//!   with saved credentials, so a server without NLA checks them when it can.
//! - Set Error Info support is announced by the connector (earlyCapabilityFlags), so a server
//!   that denies the connection says why.

use ironrdp_connector::{Config, Credentials, DesktopSize};
use ironrdp_pdu::gcc::{ConnectionType, KeyboardType};
use ironrdp_pdu::nego::NegoRequestData;
use ironrdp_pdu::rdp::capability_sets::{MajorPlatformType, RailSupportLevel};
use ironrdp_pdu::rdp::client_info::{PerformanceFlags, TimezoneInfo};

use super::AuthOptions;

/// The name the client announces (Client Core Data clientName, 15 characters at most).
const CLIENT_NAME: &str = "rdpdoctor";

pub(crate) fn connector_config(options: &AuthOptions, cookie: Option<&str>) -> Config {
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
        enable_credssp: true,
        enable_standard_rdp_security: false,
        credentials: Credentials::UsernamePassword {
            username: options.user.clone(),
            password: options.password.expose().to_owned(),
        },
        domain: options.domain.clone(),
        client_build: 0,
        client_name: CLIENT_NAME.to_owned(),
        keyboard_type: KeyboardType::IBM_ENHANCED,
        keyboard_subtype: 0,
        keyboard_functional_keys_count: 12,
        keyboard_layout: 0x0409,
        connection_type: ConnectionType::Lan,
        ime_file_name: String::new(),
        bitmap: None,
        dig_product_id: String::new(),
        client_dir: String::new(),
        alternate_shell: String::new(),
        work_dir: String::new(),
        remote_application_mode: false,
        rail_support_level: RailSupportLevel::empty(),
        platform: if cfg!(windows) {
            MajorPlatformType::WINDOWS
        } else {
            MajorPlatformType::UNIX
        },
        hardware_id: None,
        request_data: Some(NegoRequestData::cookie(
            cookie.unwrap_or(CLIENT_NAME).to_owned(),
        )),
        autologon: true,
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
