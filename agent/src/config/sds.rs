//! `[sds]`: the names of the Envoy SDS resources the agent serves on the Workload API socket
//! (SPIRE's `sds` block, same keys and defaults).

use serde::Deserialize;

/// The longest resource name accepted in the config, in bytes.
const MAX_NAME_LEN: usize = 256;

/// `[sds]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SdsSection {
    /// The TLS certificate resource carrying the caller's default X.509-SVID (default
    /// `default`); every SVID is also served under its SPIFFE ID.
    pub default_svid_name: String,
    /// The validation context carrying the own trust domain's bundle (default `ROOTCA`);
    /// also served as `spiffe://<trust domain>`.
    pub default_bundle_name: String,
    /// The validation context carrying every bundle the caller trusts: own and federated
    /// (default `ALL`).
    pub default_all_bundles_name: String,
    /// Serve plain validation contexts (`trusted_ca`, PEM) instead of Envoy's SPIFFE
    /// certificate validator (`envoy.tls.cert_validator.spiffe`), for Envoys without it.
    pub disable_spiffe_cert_validation: bool,
}

impl Default for SdsSection {
    fn default() -> Self {
        Self {
            default_svid_name: "default".into(),
            default_bundle_name: "ROOTCA".into(),
            default_all_bundles_name: "ALL".into(),
            disable_spiffe_cert_validation: false,
        }
    }
}

impl SdsSection {
    /// The three names: non-empty, at most 256 bytes, distinct, and not a SPIFFE ID (those
    /// name SVIDs and trust domains).
    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        let names = [
            ("sds.default_svid_name", &self.default_svid_name),
            ("sds.default_bundle_name", &self.default_bundle_name),
            (
                "sds.default_all_bundles_name",
                &self.default_all_bundles_name,
            ),
        ];
        for (i, (key, name)) in names.iter().enumerate() {
            if name.trim().is_empty() {
                return Err((key, "must not be empty".into()));
            }
            if name.len() > MAX_NAME_LEN {
                return Err((key, format!("must be at most {MAX_NAME_LEN} bytes")));
            }
            if name.starts_with("spiffe://") {
                return Err((
                    key,
                    "must not be a SPIFFE ID (those name SVIDs and trust domains)".into(),
                ));
            }
            if names[..i].iter().any(|(_, other)| other == name) {
                return Err((key, format!("{name:?} is already used by another sds name")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::super::test_support::{BASE, key_of, parse};
    use super::*;

    const JT: &str = "join_token = \"t\"\n";

    #[test]
    fn defaults_are_spires() {
        let c = parse(&format!("{BASE}{JT}")).unwrap();
        assert_eq!(c.sds, SdsSection::default());
        assert_eq!(c.sds.default_svid_name, "default");
        assert_eq!(c.sds.default_bundle_name, "ROOTCA");
        assert_eq!(c.sds.default_all_bundles_name, "ALL");
        assert!(!c.sds.disable_spiffe_cert_validation);
    }

    #[test]
    fn every_key_parses() {
        let c = parse(&format!(
            "{BASE}{JT}[sds]\ndefault_svid_name = \"svid\"\ndefault_bundle_name = \"ca\"\n\
             default_all_bundles_name = \"every\"\ndisable_spiffe_cert_validation = true\n"
        ))
        .unwrap();
        assert_eq!(c.sds.default_svid_name, "svid");
        assert_eq!(c.sds.default_bundle_name, "ca");
        assert_eq!(c.sds.default_all_bundles_name, "every");
        assert!(c.sds.disable_spiffe_cert_validation);
    }

    #[test]
    fn bad_names_are_refused_by_key() {
        let with = |body: &str| key_of(&format!("{BASE}{JT}[sds]\n{body}\n"));
        assert_eq!(with("bogus = 1"), "sds.bogus");
        assert_eq!(with("default_svid_name = \"\""), "sds.default_svid_name");
        assert_eq!(
            with("default_bundle_name = \"spiffe://example.org\""),
            "sds.default_bundle_name"
        );
        assert_eq!(
            with("default_all_bundles_name = \"ROOTCA\""),
            "sds.default_all_bundles_name"
        );
        assert_eq!(
            with(&format!("default_svid_name = \"{}\"", "x".repeat(300))),
            "sds.default_svid_name"
        );
    }
}
