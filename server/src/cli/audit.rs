//! `tessera-server audit verify FILE…`: checks an audit trail's hash chain.

use std::path::PathBuf;

use clap::Subcommand;

use super::CliError;
use super::output::outln;
use crate::audit::{VerifyError, verify_files};

/// `audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain of audit files, oldest first (`audit.jsonl.2 audit.jsonl.1
    /// audit.jsonl`): exit 0 when every record follows the one before it.
    Verify {
        /// The files, oldest first.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Runs an `audit` command.
pub fn run(command: &AuditCommand) -> Result<(), CliError> {
    match command {
        AuditCommand::Verify { files } => {
            let paths: Vec<&std::path::Path> = files.iter().map(PathBuf::as_path).collect();
            let verified = verify_files(&paths).map_err(|e| match e {
                VerifyError::Io { .. } | VerifyError::Empty => {
                    CliError(format!("cannot verify the audit trail: {e}"))
                }
                VerifyError::NotARecord { .. } | VerifyError::Broken { .. } => {
                    CliError(format!("audit trail broken: {e}"))
                }
            })?;
            outln!(
                "audit trail intact: {} records, seq {} to {}",
                verified.records,
                verified.first_seq,
                verified.last_seq
            );
            Ok(())
        }
    }
}
