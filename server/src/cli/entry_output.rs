//! How `entry` commands print: SPIRE-style aligned blocks, or JSON with `--output json`.

use std::time::Duration;

use serde_json::{Value, json};
use tessera_proto::clock::from_unix_seconds;
use tessera_proto::duration::format_duration;
use tessera_proto::wire::tessera::types::v1::Entry;

use super::CliError;
use super::output::outln;
pub use super::output::{Output, OutputArg};

/// An entry as JSON (the wire field names).
pub fn entry_json(e: &Entry) -> Value {
    let selectors: Vec<Value> = e
        .selectors
        .iter()
        .map(|s| json!({"type": s.r#type, "value": s.value}))
        .collect();
    json!({
        "id": e.id,
        "spiffe_id": e.spiffe_id,
        "parent_id": e.parent_id,
        "selectors": selectors,
        "x509_svid_ttl": e.x509_svid_ttl,
        "jwt_svid_ttl": e.jwt_svid_ttl,
        "dns_names": e.dns_names,
        "admin": e.admin,
        "admin_role": e.admin_role,
        "downstream": e.downstream,
        "federates_with": e.federates_with,
        "hint": e.hint,
        "expires_at": e.expires_at,
        "revision": e.revision,
        "created_at": e.created_at,
        "managed_by": e.managed_by,
    })
}

fn ttl(secs: i32) -> String {
    match u64::try_from(secs) {
        Ok(0) | Err(_) => "default".into(),
        Ok(s) => format_duration(Duration::from_secs(s)),
    }
}

fn time(secs: i64) -> String {
    time::OffsetDateTime::from(from_unix_seconds(secs)).to_string()
}

fn line(label: &str, value: impl std::fmt::Display) {
    outln!("{label:<17}: {value}");
}

fn print_entry(e: &Entry) {
    line("Entry ID", &e.id);
    line("SPIFFE ID", &e.spiffe_id);
    line("Parent ID", &e.parent_id);
    line("Revision", e.revision);
    line("X509-SVID TTL", ttl(e.x509_svid_ttl));
    line("JWT-SVID TTL", ttl(e.jwt_svid_ttl));
    for s in &e.selectors {
        line("Selector", format_args!("{}:{}", s.r#type, s.value));
    }
    for d in &e.dns_names {
        line("DNS name", d);
    }
    for td in &e.federates_with {
        line("FederatesWith", td);
    }
    if e.admin {
        line("Admin", true);
    }
    if !e.admin_role.is_empty() {
        line("Admin role", &e.admin_role);
    }
    if e.downstream {
        line("Downstream", true);
    }
    if !e.hint.is_empty() {
        line("Hint", &e.hint);
    }
    if e.expires_at != 0 {
        line("Expires at", time(e.expires_at));
    }
    if !e.managed_by.is_empty() {
        line("Managed by", &e.managed_by);
    }
    if e.created_at != 0 {
        line("Created at", time(e.created_at));
    }
}

fn json_out(v: &Value) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(v).map_err(|e| CliError(format!("JSON: {e}")))?;
    outln!("{text}");
    Ok(())
}

/// Prints entries; `found` adds SPIRE's "Found N entries" header.
pub fn print_entries(entries: &[Entry], output: OutputArg, found: bool) -> Result<(), CliError> {
    if output.format == Output::Json {
        let all: Vec<Value> = entries.iter().map(entry_json).collect();
        return json_out(&json!({ "entries": all }));
    }
    if found {
        let noun = if entries.len() == 1 {
            "entry"
        } else {
            "entries"
        };
        outln!("Found {} {noun}", entries.len());
    }
    for e in entries {
        print_entry(e);
        outln!();
    }
    Ok(())
}

/// Prints the deleted entries.
pub fn print_deleted(entries: &[Entry], output: OutputArg) -> Result<(), CliError> {
    if output.format == Output::Json {
        let all: Vec<Value> = entries.iter().map(entry_json).collect();
        return json_out(&json!({ "deleted": all }));
    }
    for e in entries {
        outln!("Deleted entry {}", e.id);
    }
    Ok(())
}

/// Prints how many entries exist.
pub fn print_count(count: usize, output: OutputArg) -> Result<(), CliError> {
    if output.format == Output::Json {
        return json_out(&json!({ "count": count }));
    }
    let noun = if count == 1 { "entry" } else { "entries" };
    outln!("{count} registration {noun}");
    Ok(())
}
