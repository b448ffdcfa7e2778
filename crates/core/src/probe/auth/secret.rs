//! The password, in a type that never prints.
//!
//! It has no `Display`, its `Debug` says `Password(<redacted>)`, it is not `Serialize`, and its
//! memory is zeroed on drop. IronRDP's `Config` and sspi need their own `String` copies while
//! the attempt runs (they are dropped with it); this type keeps rdpdoctor's copy out of every
//! report, log and error message, and [`Password::redact`] scrubs text that came back from a
//! library before it becomes evidence.

use zeroize::Zeroizing;

/// A password the user typed or set in `RDPDOCTOR_PASSWORD`.
#[derive(Clone, Default)]
pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(secret: String) -> Password {
        Password(Zeroizing::new(secret))
    }

    /// The secret, for the one place that sends it (the connector configuration).
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with every occurrence of the password replaced, so that a library's error
    /// message can never carry it into a report.
    pub fn redact(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_string()
        } else {
            text.replace(self.0.as_str(), "<redacted>")
        }
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl From<String> for Password {
    fn from(s: String) -> Password {
        Password::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let p = Password::new("LabPass123!".into());
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        assert_eq!(
            format!("{:?}", Some(p.clone())),
            "Some(Password(<redacted>))"
        );
    }

    #[test]
    fn redact_scrubs_library_messages() {
        let p = Password::new("hunter2".into());
        assert_eq!(
            p.redact("bad password hunter2 for user"),
            "bad password <redacted> for user"
        );
        assert_eq!(Password::default().redact("text"), "text");
    }
}
