//! The readiness report and the `/ready` body.

use serde_json::json;

/// The process is still starting (the probe is not installed yet).
pub const NOT_READY_STARTING: &str = "starting";
/// The process received SIGTERM/SIGINT and is draining.
pub const NOT_READY_SHUTTING_DOWN: &str = "shutting_down";

/// What is not ready, by stable names (`datastore`, `x509_ca`, …); empty means ready.
/// Names only: never a secret, an address or an error text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    not_ready: Vec<&'static str>,
}

impl Report {
    /// Ready.
    pub fn ready() -> Self {
        Self::default()
    }

    /// Not ready because of `names` (kept in the given order, without repeats).
    pub fn not_ready(names: impl IntoIterator<Item = &'static str>) -> Self {
        let mut report = Self::default();
        for name in names {
            report.add(name);
        }
        report
    }

    /// Adds a reason.
    pub fn add(&mut self, name: &'static str) {
        if !self.not_ready.contains(&name) {
            self.not_ready.push(name);
        }
    }

    /// Whether nothing is wrong.
    pub fn is_ready(&self) -> bool {
        self.not_ready.is_empty()
    }

    /// The reasons, in order.
    pub fn reasons(&self) -> &[&'static str] {
        &self.not_ready
    }

    /// The `/ready` body: `{"status":"ready"}` or
    /// `{"status":"not_ready","not_ready":["datastore",…]}`.
    pub fn body(&self) -> serde_json::Value {
        if self.is_ready() {
            json!({"status": "ready"})
        } else {
            json!({"status": "not_ready", "not_ready": self.not_ready})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        assert_eq!(Report::ready().body(), json!({"status": "ready"}));
        let report = Report::not_ready(["datastore", "bundle", "datastore"]);
        assert!(!report.is_ready());
        assert_eq!(report.reasons(), ["datastore", "bundle"]);
        assert_eq!(
            report.body().to_string(),
            r#"{"not_ready":["datastore","bundle"],"status":"not_ready"}"#
        );
    }
}
