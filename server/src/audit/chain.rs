//! The chain: numbers each record, links it to the line before it (SHA-256, hex) and
//! writes it to the sink — a JSON-lines file rotated by size (`audit.jsonl`,
//! `audit.jsonl.1`, … oldest last) or stderr. A file sink resumes the chain of the file it
//! finds, so restarts continue one chain.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};

use super::AuditRecord;

/// The event opening a file after rotation: a chain may be verified from it on (the
/// files before it rotated away).
pub const FILE_STARTED: &str = "audit_file_started";

/// The `prev` of the first record of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Where records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditSink {
    /// JSON lines on stderr.
    Stderr,
    /// A JSON-lines file, rotated once it holds `max_bytes`, keeping `max_files` rotated files.
    File {
        /// The live file.
        path: PathBuf,
        /// Size at which the file is rotated.
        max_bytes: u64,
        /// Rotated files kept (`path.1` … `path.N`).
        max_files: u32,
    },
}

/// SHA-256 of `line`, hex.
pub(super) fn line_hash(line: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, line.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends records to one chain.
#[derive(Debug)]
pub struct ChainWriter {
    sink: AuditSink,
    file: Option<File>,
    written: u64,
    prev: String,
    seq: u64,
    /// The time of the last record (the rotation record reuses it).
    last_time: String,
}

fn open_append(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// The hash and sequence number of the last record in `path`, if it holds any.
fn last_record(path: &Path) -> io::Result<Option<(String, u64)>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut last = None;
    for line in BufReader::new(file).lines() {
        let line = line?;
        if !line.trim().is_empty() {
            last = Some(line);
        }
    }
    let Some(line) = last else {
        return Ok(None);
    };
    let record: AuditRecord = serde_json::from_str(&line).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: the last line is not an audit record: {e}",
                path.display()
            ),
        )
    })?;
    Ok(Some((line_hash(&line), record.seq)))
}

impl ChainWriter {
    /// A writer to `sink`; a file sink continues the chain of the file it finds there.
    pub fn open(sink: AuditSink) -> io::Result<Self> {
        let (file, written, prev, seq) = match &sink {
            AuditSink::Stderr => (None, 0, GENESIS.to_owned(), 0),
            AuditSink::File { path, .. } => {
                let (prev, seq) = last_record(path)?.unwrap_or((GENESIS.to_owned(), 0));
                let file = open_append(path)?;
                let written = file.metadata()?.len();
                (Some(file), written, prev, seq)
            }
        };
        Ok(Self {
            sink,
            file,
            written,
            prev,
            seq,
            last_time: String::new(),
        })
    }

    /// Numbers, links and writes `record` (one `write` of one line), then rotates the file
    /// when it is full.
    pub fn append(&mut self, record: AuditRecord) -> io::Result<()> {
        self.write(record)?;
        if let AuditSink::File {
            path,
            max_bytes,
            max_files,
        } = &self.sink
            && self.written >= *max_bytes
        {
            let (path, max_files) = (path.clone(), *max_files);
            self.rotate(&path, max_files)?;
        }
        Ok(())
    }

    fn write(&mut self, mut record: AuditRecord) -> io::Result<()> {
        record.seq = self.seq + 1;
        record.prev.clone_from(&self.prev);
        let line = serde_json::to_string(&record)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let bytes = format!("{line}\n");
        match &mut self.file {
            Some(file) => file.write_all(bytes.as_bytes())?,
            None => io::stderr().lock().write_all(bytes.as_bytes())?,
        }
        self.prev = line_hash(&line);
        self.seq = record.seq;
        self.last_time = record.time;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// `path` → `path.1` → … → `path.max_files` (the oldest is dropped); a new live file,
    /// opened by a [`FILE_STARTED`] record that continues the chain.
    fn rotate(&mut self, path: &Path, max_files: u32) -> io::Result<()> {
        let numbered = |n: u32| PathBuf::from(format!("{}.{n}", path.display()));
        if max_files == 0 {
            std::fs::remove_file(path)?;
        } else {
            for n in (1..max_files).rev() {
                if numbered(n).exists() {
                    std::fs::rename(numbered(n), numbered(n + 1))?;
                }
            }
            std::fs::rename(path, numbered(1))?;
        }
        self.file = Some(open_append(path)?);
        self.written = 0;
        let time = self.last_time.clone();
        let fields =
            std::collections::BTreeMap::from([("event".to_owned(), FILE_STARTED.to_owned())]);
        self.write(AuditRecord::from_fields(fields, time, None, None))
    }
}
