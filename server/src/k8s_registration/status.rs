//! The `status` a resource reports: spire-controller-manager's `stats`, a `Ready`
//! condition and the first errors. Written only when it changed, so writing it (which
//! the controller sees as a watch event) settles after one more pass.

use serde_json::{Value, json};

use super::desired::Report;

/// The status of a resource given its `report`; `previous` is its current status (its
/// condition's `lastTransitionTime` is kept while the condition holds), `now` RFC 3339.
pub fn status(
    report: &Report,
    generation: Option<i64>,
    previous: Option<&Value>,
    now: &str,
) -> Value {
    let (ready, reason, message) = if let Some(e) = &report.spec_error {
        ("False", "InvalidSpec", e.clone())
    } else if report.stats.pod_entry_render_failures > 0 || report.stats.entry_failures > 0 {
        (
            "False",
            "EntryErrors",
            format!(
                "{} pod(s) could not be rendered, {} entry write(s) failed",
                report.stats.pod_entry_render_failures, report.stats.entry_failures
            ),
        )
    } else {
        (
            "True",
            "Reconciled",
            format!("{} entries set", report.stats.entries_to_set),
        )
    };
    let previous_condition = previous
        .and_then(|p| p.get("conditions"))
        .and_then(Value::as_array)
        .and_then(|c| {
            c.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
        });
    let transition = previous_condition
        .filter(|c| {
            c.get("status").and_then(Value::as_str) == Some(ready)
                && c.get("reason").and_then(Value::as_str) == Some(reason)
        })
        .and_then(|c| c.get("lastTransitionTime").cloned())
        .unwrap_or_else(|| json!(now));
    let mut condition = json!({
        "type": "Ready",
        "status": ready,
        "reason": reason,
        "message": message,
        "lastTransitionTime": transition,
    });
    if let Some(g) = generation {
        condition["observedGeneration"] = json!(g);
    }
    let mut status = json!({
        "stats": report.stats,
        "conditions": [condition],
    });
    if !report.errors.is_empty() {
        status["errors"] = json!(report.errors);
    }
    status
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_kept_while_the_condition_holds() {
        let mut report = Report::default();
        report.stats.entries_to_set = 2;
        let first = status(&report, Some(1), None, "2026-01-01T00:00:00Z");
        assert_eq!(first["conditions"][0]["status"], "True");
        let again = status(&report, Some(1), Some(&first), "2026-01-02T00:00:00Z");
        assert_eq!(again, first, "unchanged status: nothing to write");
        report.spec_error = Some("spiffeIDTemplate is required".into());
        let bad = status(&report, Some(2), Some(&first), "2026-01-03T00:00:00Z");
        assert_eq!(bad["conditions"][0]["reason"], "InvalidSpec");
        assert_eq!(
            bad["conditions"][0]["lastTransitionTime"],
            "2026-01-03T00:00:00Z"
        );
        assert_eq!(bad["stats"]["entriesToSet"], 2);
    }
}
