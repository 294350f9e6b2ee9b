//! `[audit]`: where the audit trail goes (see [`crate::audit`]).

use std::path::PathBuf;

use serde::Deserialize;

use crate::audit::AuditSink;

/// Where records go: `off` (default: audit events only in the ordinary log), `stderr`
/// (JSON lines, chained), `file` (a chained JSON-lines file, rotated by size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// No trail of its own.
    #[default]
    Off,
    /// Chained JSON lines on stderr.
    Stderr,
    /// A chained JSON-lines file.
    File,
}

/// `[audit]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    sink: SinkKind,
    #[serde(default)]
    file: Option<PathBuf>,
    #[serde(default = "default_max_file_bytes")]
    max_file_bytes: u64,
    #[serde(default = "default_max_files")]
    max_files: u32,
}

fn default_max_file_bytes() -> u64 {
    100 * 1024 * 1024
}

fn default_max_files() -> u32 {
    10
}

/// `[audit]`, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "Raw")]
pub struct AuditSection {
    /// The sink, `None` when off.
    pub sink: Option<AuditSink>,
}

impl TryFrom<Raw> for AuditSection {
    type Error = String;

    fn try_from(raw: Raw) -> Result<Self, String> {
        if !(4096..=1 << 40).contains(&raw.max_file_bytes) {
            return Err(format!(
                "max_file_bytes: {} is not between 4096 and 2^40",
                raw.max_file_bytes
            ));
        }
        if raw.max_files > 1000 {
            return Err(format!("max_files: {} is more than 1000", raw.max_files));
        }
        let sink = match (raw.sink, raw.file) {
            (SinkKind::Off, None) => None,
            (SinkKind::Stderr, None) => Some(AuditSink::Stderr),
            (SinkKind::File, Some(path)) => Some(AuditSink::File {
                path,
                max_bytes: raw.max_file_bytes,
                max_files: raw.max_files,
            }),
            (SinkKind::File, None) => return Err("sink = \"file\" needs file = PATH".into()),
            (_, Some(_)) => return Err("file is only used with sink = \"file\"".into()),
        };
        Ok(Self { sink })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AuditSection, String> {
        let text = format!("trust_domain = \"example.org\"\n[audit]\n{text}");
        crate::config::ServerConfig::parse(&text, std::path::Path::new("server.toml"))
            .map(|c| c.audit)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn sinks_and_their_errors() {
        assert_eq!(parse("").unwrap().sink, None);
        assert_eq!(
            parse("sink = \"stderr\"").unwrap().sink,
            Some(AuditSink::Stderr)
        );
        assert_eq!(
            parse("sink = \"file\"\nfile = \"/var/log/a.jsonl\"\nmax_files = 3")
                .unwrap()
                .sink,
            Some(AuditSink::File {
                path: "/var/log/a.jsonl".into(),
                max_bytes: 100 * 1024 * 1024,
                max_files: 3
            })
        );
        let refused = |text: &str| parse(text).unwrap_err();
        assert!(refused("sink = \"file\"").contains("sink = \"file\" needs file = PATH"));
        assert!(refused("file = \"/x\"").contains("file is only used with sink = \"file\""));
        let small = refused("sink = \"file\"\nfile = \"/x\"\nmax_file_bytes = 10");
        assert!(
            small.contains("max_file_bytes: 10 is not between 4096 and 2^40"),
            "{small}"
        );
        assert!(refused("sink = \"syslog\"").contains("audit"));
    }
}
