//! Test harness shared by every crate's tests.
//!
//! - [`shared_data`]: where the public fixtures (`../shared/data`: real .evtx logs and RDP
//!   captures) are. They are not copied into the repository; tests that need them skip with a
//!   clear message when they are absent.
//! - Real servers (xrdp, FreeRDP shadow) started on loopback: see the `servers` module (added
//!   with the integration tests).

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
