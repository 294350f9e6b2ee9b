#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn policy() -> Policy {
    Policy::new(
        TrustDomain::new("example.org").unwrap(),
        Duration::from_secs(86_400),
    )
}

fn sel(t: &str, v: &str) -> WireSelector {
    WireSelector {
        r#type: t.into(),
        value: v.into(),
    }
}

fn good() -> Entry {
    Entry {
        id: "keep-me".into(),
        spiffe_id: "spiffe://example.org/web".into(),
        parent_id: "spiffe://example.org/tessera/agent/x".into(),
        selectors: vec![
            sel("unix", "uid:1000"),
            sel("k8s", "ns:a"),
            sel("unix", "uid:1000"),
        ],
        x509_svid_ttl: 3600,
        dns_names: vec![
            "Web.Example.org".into(),
            "web.example.org".into(),
            "a.b".into(),
        ],
        federates_with: vec!["spiffe://b.org".into(), "a.org".into(), "b.org".into()],
        hint: "web".into(),
        revision: 5,
        created_at: 9,
        ..Entry::default()
    }
}

/// The error's message, which must name `field`.
fn refused(mutate: impl FnOnce(&mut Entry), field: &str) -> RegistrationError {
    let mut e = good();
    mutate(&mut e);
    let err = validate(&e, &policy()).unwrap_err();
    assert!(err.to_string().starts_with(field), "{field}: {err}");
    err
}

#[test]
fn a_good_entry_is_normalized() {
    let out = validate(&good(), &policy()).unwrap();
    assert_eq!(
        out.selectors,
        vec![sel("k8s", "ns:a"), sel("unix", "uid:1000")]
    );
    assert_eq!(out.dns_names, ["web.example.org", "a.b"]);
    assert_eq!(out.federates_with, ["a.org", "b.org"]);
    assert_eq!(
        (out.id.as_str(), out.revision, out.created_at),
        ("keep-me", 5, 9)
    );
    // Normalizing twice changes nothing.
    assert_eq!(validate(&out, &policy()).unwrap(), out);
}

#[test]
fn node_aliases_are_entries_parented_to_the_server() {
    let p = policy();
    assert_eq!(p.server_id.as_str(), "spiffe://example.org/tessera/server");
    let mut e = good();
    e.parent_id = p.server_id.to_string();
    validate(&e, &p).unwrap();
    refused(|e| e.spiffe_id = p.server_id.to_string(), "spiffe_id");
}

#[test]
fn ids_must_be_valid_and_ours() {
    refused(|e| e.spiffe_id.clear(), "spiffe_id is required");
    refused(
        |e| e.spiffe_id = "spiffe://example.org/a/../b".into(),
        "spiffe_id",
    );
    refused(
        |e| e.spiffe_id = "spiffe://other.org/web".into(),
        "spiffe_id",
    );
    refused(|e| e.spiffe_id = "spiffe://example.org".into(), "spiffe_id");
    refused(|e| e.parent_id = "http://example.org/x".into(), "parent_id");
    refused(|e| e.parent_id = "spiffe://other.org/x".into(), "parent_id");
    refused(|e| e.parent_id = e.spiffe_id.clone(), "parent_id");
    let long = format!("spiffe://example.org/{}", "a".repeat(2100));
    refused(|e| e.spiffe_id = long, "spiffe_id");
}

#[test]
fn selectors_are_required_valid_and_bounded() {
    refused(|e| e.selectors.clear(), "selectors is required");
    refused(|e| e.selectors.push(sel("Unix", "uid:1")), "selectors[3]");
    refused(|e| e.selectors.push(sel("unix", "")), "selectors[3]");
    refused(|e| e.selectors.push(sel("", "x")), "selectors[3]");
    refused(
        |e| e.selectors = (0..65).map(|i| sel("u", &i.to_string())).collect(),
        "selectors: 65 items",
    );
}

#[test]
fn ttls_and_expiry_are_bounded() {
    refused(|e| e.x509_svid_ttl = -1, "x509_svid_ttl");
    refused(|e| e.jwt_svid_ttl = 86_401, "jwt_svid_ttl");
    refused(|e| e.expires_at = -5, "expires_at");
    let mut e = good();
    e.jwt_svid_ttl = 86_400;
    validate(&e, &policy()).unwrap();
}

#[test]
fn dns_federation_and_hint_are_checked() {
    refused(|e| e.dns_names.push("bad_name".into()), "dns_names[3]");
    refused(
        |e| e.dns_names = vec!["a.b".into(); 65],
        "dns_names: 65 items",
    );
    refused(
        |e| e.federates_with.push("Bad.Org".into()),
        "federates_with[3]",
    );
    refused(
        |e| e.federates_with.push("example.org".into()),
        "federates_with[3]",
    );
    refused(|e| e.hint = "h".repeat(257), "hint");
    refused(|e| e.hint = "a\nb".into(), "hint");
}
