//! Correlation: findings that tell one story become one finding.
//!
//! An expired certificate that the server cannot renew because its MachineKeys folder is broken
//! is one problem with one fix, not three findings. Each pair below names the root cause and the
//! consequence; when both are found, the consequence is folded into the root cause's `related`
//! list (its evidence lines are kept) and leaves the top-level list.

use super::finding::{Finding, RelatedFinding};

/// (root cause, consequence) pairs.
const STORIES: &[(&str, &str)] = &[
    // The server cannot create or use its certificate's key.
    ("machinekeys-broken", "cert-expired"),
    ("machinekeys-broken", "cert-not-on-server"),
    ("machinekeys-broken", "tls-handshake-broken"),
    ("machinekeys-broken", "schannel-failures"),
    // A certificate the server cannot load breaks the handshake.
    ("cert-weak", "tls-handshake-broken"),
    // Registry says RDP is off: the closed port is the symptom.
    ("rdp-disabled", "port-closed"),
    ("connection-throttling", "dropped-after-accept"),
    // Version and suite problems are logged by Schannel on the server.
    ("tls-version-mismatch", "schannel-failures"),
    ("cipher-mismatch", "schannel-failures"),
    ("tls-version-mismatch", "cipher-mismatch"),
    // A client file without CredSSP against an NLA-only server.
    ("client-nla-disabled", "nla-required"),
    // Lockouts come from the password spraying.
    ("account-locked", "brute-force"),
    // The server allows only standard RDP security: the same configuration, two views.
    ("tls-not-allowed", "standard-rdp-security-only"),
];

/// Fold consequences into their root causes, in place.
pub(crate) fn fold(findings: &mut Vec<Finding>) {
    for (root, consequence) in STORIES {
        let Some(ri) = findings.iter().position(|f| f.cause == *root) else {
            continue;
        };
        let Some(ci) = findings.iter().position(|f| f.cause == *consequence) else {
            continue;
        };
        let folded = findings.remove(ci);
        let ri = if ci < ri { ri - 1 } else { ri };
        let target = &mut findings[ri];
        target.related.push(RelatedFinding {
            cause: folded.cause.clone(),
            title: folded.title.clone(),
            summary: folded.summary.clone(),
        });
        for line in folded.evidence {
            if !target.evidence.contains(&line) {
                target.evidence.push(line);
            }
        }
        target.related.extend(folded.related);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::finding::Confidence;
    use rdpdoctor_kb::{Category, FixRecipe, Severity};

    fn finding(cause: &str) -> Finding {
        Finding {
            cause: cause.into(),
            title: cause.into(),
            severity: Severity::Blocker,
            confidence: Confidence::High,
            category: Category::Certificate,
            summary: format!("{cause} summary"),
            evidence: vec![format!("{cause} evidence")],
            fix: FixRecipe {
                summary: String::new(),
                steps: vec![],
                verify: vec![],
                undo: None,
            },
            related: vec![],
        }
    }

    #[test]
    fn consequence_is_folded_into_root_cause() {
        let mut v = vec![
            finding("cert-expired"),
            finding("port-filtered"),
            finding("machinekeys-broken"),
        ];
        fold(&mut v);
        let causes: Vec<&str> = v.iter().map(|f| f.cause.as_str()).collect();
        assert_eq!(causes, ["port-filtered", "machinekeys-broken"]);
        assert_eq!(v[1].related[0].cause, "cert-expired");
        assert!(v[1].evidence.contains(&"cert-expired evidence".to_string()));
    }

    #[test]
    fn unrelated_findings_stay_apart() {
        let mut v = vec![finding("cert-expired"), finding("nla-required")];
        fold(&mut v);
        assert_eq!(v.len(), 2);
    }
}
