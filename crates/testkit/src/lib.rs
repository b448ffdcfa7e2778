//! Test harness shared by every crate's tests.
//!
//! - [`shared_data`]: where the public fixtures (`../shared/data`: real .evtx logs and RDP
//!   captures) are. They are not copied into the repository; tests that need them skip with a
//!   clear message when they are absent.
//! - [`servers`]: real RDP servers from Debian packages (xrdp, the FreeRDP shadow server under
//!   Xvfb) started on loopback with a configuration per test, and stopped on drop.
//! - [`certs`]: certificates with chosen names and dates for those servers.
//! - [`listeners`]: misbehaving TCP endpoints (closed port, silent listener).
//! - [`netns`]: client and server network namespaces joined by a veth pair, fault injection
//!   with iptables, an NFQUEUE delayer.

pub mod certs;
pub mod listeners;
#[cfg(target_os = "linux")]
pub mod netns;
pub mod servers;
pub mod sslscan;
pub mod zip;

use std::path::PathBuf;

/// The fixture folder: `$RDPDOCTOR_SHARED_DATA`, else `shared/data` beside the repository
/// (CI places the clone next to `shared/`). `None` when neither exists.
pub fn shared_data() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RDPDOCTOR_SHARED_DATA") {
        let p = PathBuf::from(p);
        return p.is_dir().then_some(p);
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let candidate = repo.join("../shared/data");
    candidate
        .is_dir()
        .then(|| candidate.canonicalize().unwrap_or(candidate))
}

/// A fixture file under [`shared_data`], or `None` after printing why the test is skipped.
pub fn shared_file(relative: &str) -> Option<PathBuf> {
    match shared_data() {
        Some(dir) => {
            let p = dir.join(relative);
            if p.is_file() {
                Some(p)
            } else {
                eprintln!("SKIP: fixture {relative} not found under {}", dir.display());
                None
            }
        }
        None => {
            eprintln!(
                "SKIP: shared fixtures not found (expected ../shared/data beside the repository, or set RDPDOCTOR_SHARED_DATA)"
            );
            None
        }
    }
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

/// `true` when `program` is installed; otherwise prints a SKIP line naming the package. Tests
/// that need a real server start with `if !testkit::require("xrdp", "xrdp") { return; }`.
/// When `RDPDOCTOR_REQUIRE_SERVERS=1` (set by the README test command and CI) a missing program
/// fails the test instead, so an install step that silently broke cannot pass as green.
pub fn require(program: &str, package: &str) -> bool {
    if have(program) {
        return true;
    }
    if std::env::var("RDPDOCTOR_REQUIRE_SERVERS").as_deref() == Ok("1") {
        panic!("{program} is required (Debian package {package}) but not installed");
    }
    eprintln!("SKIP: {program} not installed (apt-get install {package})");
    false
}
