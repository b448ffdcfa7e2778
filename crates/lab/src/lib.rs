//! rdpdoctor's lab: embedded RDP servers on loopback, healthy or broken on purpose.
//!
//! The lab serves `rdpdoctor demo` (a newcomer sees every diagnosis without installing a
//! server) and the project's tests (a wide, repeatable matrix of broken servers). It is not a
//! substitute for testing against xrdp and FreeRDP, but on the wire it behaves like a real
//! Windows server: the negotiation bytes are those of Windows captures, the NTLM CHALLENGE names
//! a Windows host, and the connection sequence is ironrdp-acceptor's.
//!
//! ```no_run
//! use rdpdoctor_lab::{Lab, LabConfig, Scenario};
//!
//! let lab = Lab::start(&[Scenario::Healthy, Scenario::CertExpired], LabConfig::default())?;
//! for endpoint in lab.endpoints() {
//!     println!("{} on {} -> {:?}", endpoint.scenario, endpoint.addr, endpoint.scenario.expected_cause());
//! }
//! lab.shutdown();
//! # Ok::<(), rdpdoctor_lab::LabError>(())
//! ```
//!
//! The scenario table, with each scenario's expected cause id, is in the crate's README.md
//! (`cargo run -p rdpdoctor-lab --example lab -- --list` prints it from the code).
//!
//! Code map (one module per responder family):
//! - [`scenario`]: the scenario table (names, descriptions, expected causes).
//! - `negotiation`: X.224 answers, byte for byte like Windows.
//! - `certs`: the lab CA and the certificates of each scenario (rcgen, ECDSA P-256).
//! - `credssp`, `ntlm`, `der`, `crypto`: the CredSSP/NTLM server.
//! - `session`: the connection sequence (ironrdp-acceptor) and its fault points.
//! - `faults`: silence, slowness, resets, HTTP.
//! - [`hostile`]: malformed and malicious answers.
//! - `udp`: where the MS-RDPEUDP responder will go.
//! - `lab`/`server`: listeners, the runtime thread, one connection.

mod certs;
mod credssp;
mod crypto;
mod der;
mod error;
mod faults;
pub mod hostile;
mod identity;
mod lab;
mod negotiation;
mod ntlm;
pub mod scenario;
mod server;
mod session;
mod udp;

pub use certs::{CertProfile, WRONG_NAME};
pub use credssp::STATUS_LOGON_FAILURE;
pub use error::LabError;
pub use hostile::Hostile;
pub use identity::{LabCredentials, OsVersion, ServerIdentity};
pub use lab::{Endpoint, Lab, LabConfig};
pub use scenario::{DEFAULT_REDIRECT_TARGET, ExpectedFailure, Scenario, UnknownScenario};
