//! `tessera-server audit verify`: re-computes the chain of one or more files.

use std::io::{self, BufRead as _, BufReader};
use std::path::{Path, PathBuf};

use super::chain::FILE_STARTED;
use super::chain::line_hash;
use super::{AuditRecord, GENESIS, SCHEMA_VERSION};

/// Why a trail does not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A line is not an audit record of a known schema.
    #[error("{path}:{line}: not an audit record ({detail})")]
    NotARecord {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What did not parse.
        detail: String,
    },
    /// A record's `prev` is not the hash of the line before it: a record was edited,
    /// removed or inserted.
    #[error(
        "{path}:{line}: record {seq} does not follow the line before it (edited, removed or inserted records)"
    )]
    Broken {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The record's `seq`.
        seq: u64,
    },
    /// No record at all.
    #[error("no audit records")]
    Empty,
}

/// What a verified trail holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Records checked.
    pub records: u64,
    /// `seq` of the first record (1 unless older files were rotated away).
    pub first_seq: u64,
    /// `seq` of the last record.
    pub last_seq: u64,
}

/// Verifies `files` as one chain, oldest first (e.g. `audit.jsonl.2 audit.jsonl.1
/// audit.jsonl`). The first record must start the chain (`seq` 1, `prev` = [`GENESIS`]) or
/// be the record that opened a file after a rotation (its predecessors may be gone:
/// reported through [`Verified::first_seq`]). What no file can show by itself: records
/// cut from the end, or a file rewritten whole — compare the last `seq` with an outside
/// anchor for that.
pub fn verify_files(files: &[&Path]) -> Result<Verified, VerifyError> {
    let mut prev: Option<(String, u64)> = None;
    let mut first_seq = None;
    let mut records = 0;
    for path in files {
        let io_error = |source| VerifyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io_error)?;
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(io_error)?;
            let number = i + 1;
            let record: AuditRecord =
                serde_json::from_str(&line).map_err(|e| VerifyError::NotARecord {
                    path: path.to_path_buf(),
                    line: number,
                    detail: e.to_string(),
                })?;
            if record.v != SCHEMA_VERSION {
                return Err(VerifyError::NotARecord {
                    path: path.to_path_buf(),
                    line: number,
                    detail: format!("schema version {}", record.v),
                });
            }
            let follows = match &prev {
                Some((hash, seq)) => record.prev == *hash && record.seq == seq + 1,
                // The start of what is kept: the chain's first record, or the record that
                // opened a file after rotation (the files before it may be gone).
                None => (record.seq == 1 && record.prev == GENESIS) || record.event == FILE_STARTED,
            };
            if !follows {
                return Err(VerifyError::Broken {
                    path: path.to_path_buf(),
                    line: number,
                    seq: record.seq,
                });
            }
            first_seq.get_or_insert(record.seq);
            prev = Some((line_hash(&line), record.seq));
            records += 1;
        }
    }
    match (first_seq, prev) {
        (Some(first_seq), Some((_, last_seq))) => Ok(Verified {
            records,
            first_seq,
            last_seq,
        }),
        _ => Err(VerifyError::Empty),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::{AuditSink, ChainWriter};
    use super::*;

    fn record(event: &str) -> AuditRecord {
        let fields = BTreeMap::from([("event".to_owned(), event.to_owned())]);
        AuditRecord::from_fields(fields, "2026-12-03T17:00:00.000Z".into(), None, None)
    }

    fn write(path: &Path, events: &[&str], max_bytes: u64) {
        let sink = AuditSink::File {
            path: path.to_path_buf(),
            max_bytes,
            max_files: 5,
        };
        let mut writer = ChainWriter::open(sink).unwrap();
        for e in events {
            writer.append(record(e)).unwrap();
        }
    }

    #[test]
    fn a_written_chain_verifies_and_restarts_continue_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        write(&path, &["a", "b"], u64::MAX);
        write(&path, &["c"], u64::MAX);
        let v = verify_files(&[&path]).unwrap();
        assert_eq!((v.records, v.first_seq, v.last_seq), (3, 1, 3));
    }

    #[test]
    fn an_edited_removed_or_reordered_record_breaks_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        write(&path, &["a", "b", "c"], u64::MAX);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let check = |body: String| {
            std::fs::write(&path, body).unwrap();
            verify_files(&[&path])
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let edited = text.replacen("\"event\":\"b\"", "\"event\":\"x\"", 1);
        let broken = |line: usize| {
            format!(
                "{}:{line}: record 3 does not follow the line before it (edited, removed or inserted records)",
                path.display()
            )
        };
        assert_eq!(check(edited), Err(broken(3)));
        assert_eq!(
            check(format!("{}\n{}\n", lines[0], lines[2])),
            Err(broken(2))
        );
        let swapped = format!("{}\n{}\n{}\n", lines[0], lines[2], lines[1]);
        assert!(check(swapped).is_err());
        // Removing the first record is detected too: the chain no longer starts at 1.
        let headless = format!("{}\n{}\n", lines[1], lines[2]);
        assert_eq!(
            check(headless),
            Err(format!(
                "{}:1: record 2 does not follow the line before it (edited, removed or inserted records)",
                path.display()
            ))
        );
        assert_eq!(check(text), Ok(()));
    }

    #[test]
    fn rotated_files_verify_as_one_chain_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        write(&path, &["a", "b", "c", "d", "e"], 300);
        let one = dir.path().join("audit.jsonl.1");
        assert!(one.exists(), "rotated");
        let mut files: Vec<PathBuf> = (1..=5)
            .map(|n| dir.path().join(format!("audit.jsonl.{n}")))
            .filter(|p| p.exists())
            .rev()
            .collect();
        files.push(path.clone());
        let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        let v = verify_files(&refs).unwrap();
        // Five events and the records that opened each new file.
        assert_eq!((v.first_seq, v.records), (1, v.last_seq));
        assert!(v.last_seq > 5);
        // The live file alone verifies as the rest of a chain whose start was rotated away.
        let v = verify_files(&[&path]).unwrap();
        assert!(v.first_seq > 1);
    }
}
