//! Matching entries against an [`EntryFilter`], shared by every backend.

use tessera_proto::wire::tessera::types::v1::Entry;

use super::EntryFilter;

impl EntryFilter {
    /// Whether `entry` passes every set field of the filter.
    pub fn matches(&self, entry: &Entry) -> bool {
        if self
            .spiffe_id
            .as_ref()
            .is_some_and(|id| *id != entry.spiffe_id)
        {
            return false;
        }
        if self
            .parent_id
            .as_ref()
            .is_some_and(|id| *id != entry.parent_id)
        {
            return false;
        }
        self.selectors.iter().all(|wanted| {
            entry.selectors.iter().any(|s| {
                wanted
                    .split_once(':')
                    .is_some_and(|(kind, value)| kind == s.r#type && value == s.value)
            })
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tessera_proto::wire::tessera::types::v1::Selector;

    use super::*;

    #[test]
    fn every_set_field_must_match() {
        let entry = Entry {
            spiffe_id: "spiffe://td/w".into(),
            parent_id: "spiffe://td/p".into(),
            selectors: vec![
                Selector {
                    r#type: "unix".into(),
                    value: "uid:1000".into(),
                },
                Selector {
                    r#type: "k8s".into(),
                    value: "ns:a:b".into(),
                },
            ],
            ..Entry::default()
        };
        assert!(EntryFilter::default().matches(&entry));
        let f = |s: Option<&str>, p: Option<&str>, sel: &[&str]| EntryFilter {
            spiffe_id: s.map(Into::into),
            parent_id: p.map(Into::into),
            selectors: sel.iter().map(|s| s.to_string()).collect(),
        };
        assert!(
            f(
                Some("spiffe://td/w"),
                Some("spiffe://td/p"),
                &["k8s:ns:a:b"]
            )
            .matches(&entry)
        );
        assert!(f(None, None, &["unix:uid:1000", "k8s:ns:a:b"]).matches(&entry));
        assert!(!f(Some("spiffe://td/x"), None, &[]).matches(&entry));
        assert!(!f(None, Some("spiffe://td/x"), &[]).matches(&entry));
        assert!(!f(None, None, &["unix:uid:1001"]).matches(&entry));
        assert!(!f(None, None, &["unix"]).matches(&entry));
    }
}
