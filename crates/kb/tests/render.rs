//! What `rdpdoctor causes` prints.

use rdpdoctor_kb::render::{cause_summaries, cause_text, causes_table, fix_text};
use rdpdoctor_kb::{Category, cause, causes};

#[test]
fn the_table_lists_every_cause_under_its_category() {
    let t = causes_table();
    for c in causes() {
        let line = t
            .lines()
            .find(|l| l.split_whitespace().next() == Some(c.id.as_str()))
            .unwrap_or_else(|| panic!("{} missing from the table", c.id));
        assert!(
            line.contains(c.severity.as_str()) && line.contains(&c.title),
            "{line}"
        );
    }
    for cat in Category::ALL {
        assert!(t.contains(cat.title()));
    }
    let reach = t.find("Reaching the server").unwrap();
    let client = t.find("Client side").unwrap();
    assert!(reach < client);
}

#[test]
fn summaries_serialize_for_json_output() {
    let s = cause_summaries();
    assert_eq!(s.len(), 45);
    let v = serde_json::to_value(&s).expect("json");
    assert_eq!(v[0]["id"], "dns-unresolved");
    assert_eq!(v[0]["category"], "reachability");
    assert!(v[0]["fix"].as_str().is_some_and(|f| !f.is_empty()));
}

#[test]
fn a_cause_renders_with_numbered_steps_commands_and_verify() {
    let c = cause("cert-expired").expect("cert-expired");
    let t = cause_text(c);
    assert!(t.starts_with("The RDP certificate has expired [cert-expired]"));
    assert!(t.contains("  1. "));
    assert!(t.contains("PS> Restart-Service TermService -Force"));
    assert!(t.contains("GUI: certlm.msc > Remote Desktop > Certificates"));
    assert!(t.contains("Verify:"));
    assert!(t.contains("Test with rdpdoctor:"));
    let f = fix_text(&cause("credssp-oracle").unwrap().fix);
    assert!(f.contains("Undo: "));
    assert!(f.contains("Group Policy: Computer Configuration > Administrative Templates > System > Credentials Delegation"));
}
