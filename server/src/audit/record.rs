//! One audit record: the stable, documented schema (README "Audit trail").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The schema version written in every record (`v`).
pub const SCHEMA_VERSION: u32 = 1;

/// One audit record, one JSON line. Fields absent from an event are `null` (`details` is
/// empty); `prev` and `hash` are set by the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Schema version ([`SCHEMA_VERSION`]).
    pub v: u32,
    /// Position in the chain, from 1.
    pub seq: u64,
    /// RFC 3339 UTC time with milliseconds.
    pub time: String,
    /// What happened (`oauth_token_issued`, `entry_created`, …).
    pub event: String,
    /// Who acted: a client ID, user ID, agent ID or `admin_api`.
    pub actor: Option<String>,
    /// What it acted on (a user, an entry, a grant …), when not the actor itself.
    pub subject: Option<String>,
    /// `allow` / `deny` (or another outcome word), when the event is a decision.
    pub decision: Option<String>,
    /// Why, in a stable word (`invalid_client`, `replayed_code`, …).
    pub reason: Option<String>,
    /// The caller's source address, when known.
    pub source: Option<String>,
    /// The request this record belongs to (also the `X-Request-Id` answer header).
    pub request_id: Option<String>,
    /// The tenant whose data the event concerns (OAuth requests and tenant-scoped admin
    /// calls); absent for trust-domain events (entries, agents, authorities) and in
    /// records written before tenants existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Every other field of the event, as text.
    pub details: BTreeMap<String, String>,
    /// SHA-256 (hex) of the previous line of the chain ([`super::GENESIS`] for the first).
    pub prev: String,
}

/// Field names whose values are never written (defence in depth: call sites never pass
/// secrets, and this keeps a mistake out of the trail).
const SECRET_NAMES: [&str; 8] = [
    "token",
    "access_token",
    "refresh_token",
    "client_secret",
    "password",
    "client_assertion",
    "code",
    "device_code",
];

/// Whether a field named `name` may hold a secret.
pub(super) fn is_secret(name: &str) -> bool {
    SECRET_NAMES.contains(&name) || name.contains("secret") || name.contains("password")
}

/// Fields that name who acted, in order of preference.
const ACTOR_FIELDS: [&str; 5] = ["actor", "client_id", "agent_id", "user_id", "caller"];
/// Fields that name what was acted on, in order of preference.
const SUBJECT_FIELDS: [&str; 8] = [
    "subject",
    "user_id",
    "agent_id",
    "spiffe_id",
    "entry_id",
    "grant_id",
    "username",
    "trust_domain",
];

impl AuditRecord {
    /// The record of an event's `fields` (name → text) at `time`, before chaining.
    pub(super) fn from_fields(
        mut fields: BTreeMap<String, String>,
        time: String,
        request_id: Option<String>,
        tenant: Option<String>,
    ) -> Self {
        let event = fields.remove("event").unwrap_or_else(|| {
            fields
                .remove("message")
                .unwrap_or_else(|| "unnamed".to_owned())
        });
        let actor_field = ACTOR_FIELDS
            .iter()
            .find(|f| fields.contains_key(**f))
            .copied();
        let actor = actor_field.and_then(|f| fields.remove(f));
        let subject = SUBJECT_FIELDS
            .iter()
            .find(|f| Some(**f) != actor_field && fields.contains_key(**f))
            .and_then(|f| fields.remove(*f));
        let tenant = fields.remove("tenant").or(tenant);
        let decision = fields.remove("decision");
        let reason = fields.remove("reason");
        let source = ["source", "peer", "source_address"]
            .iter()
            .find_map(|f| fields.remove(*f));
        for (name, value) in &mut fields {
            if is_secret(name) {
                *value = "[redacted]".to_owned();
            }
        }
        Self {
            v: SCHEMA_VERSION,
            seq: 0,
            time,
            event,
            actor,
            subject,
            decision,
            reason,
            source,
            request_id,
            tenant,
            details: fields,
            prev: String::new(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn fields_map_onto_the_schema() {
        let r = AuditRecord::from_fields(
            fields(&[
                ("event", "oauth_token_issued"),
                ("client_id", "partner"),
                ("user_id", "u-1"),
                ("decision", "allow"),
                ("reason", "issued"),
                ("source", "192.0.2.1"),
                ("scope", "read"),
            ]),
            "2026-12-03T17:00:00.000Z".into(),
            Some("r-1".into()),
            Some("acme".into()),
        );
        assert_eq!(r.event, "oauth_token_issued");
        assert_eq!(r.actor.as_deref(), Some("partner"));
        assert_eq!(r.subject.as_deref(), Some("u-1"));
        assert_eq!(r.decision.as_deref(), Some("allow"));
        assert_eq!(r.reason.as_deref(), Some("issued"));
        assert_eq!(r.source.as_deref(), Some("192.0.2.1"));
        assert_eq!(r.request_id.as_deref(), Some("r-1"));
        assert_eq!(r.tenant.as_deref(), Some("acme"));
        assert_eq!(r.details, fields(&[("scope", "read")]));
    }

    /// A secret-named field never reaches the trail, whatever a call site passes.
    #[test]
    fn secret_named_fields_are_redacted() {
        let r = AuditRecord::from_fields(
            fields(&[
                ("event", "e"),
                ("refresh_token", "rt-SECRET"),
                ("client_secret", "cs-SECRET"),
                ("new_password", "pw-SECRET"),
                ("code", "code-SECRET"),
            ]),
            "t".into(),
            None,
            None,
        );
        let line = serde_json::to_string(&r).unwrap();
        assert!(!line.contains("SECRET"), "{line}");
        assert_eq!(r.details["code"], "[redacted]");
    }
}
