//! What every client command prints goes through [`emit`]: written at once, and a reader
//! that went away (`| head`) ends the command quietly instead of a panic.

use std::io::Write as _;

use super::CliError;

/// Appends a line to a `String` buffer (`say!(out, "…", args)`).
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        // Writing to a String cannot fail.
        let _ = writeln!($out, $($arg)*);
    }};
}
pub(super) use say;

/// Writes `text` to standard output. A closed pipe is not an error: the reader has all it
/// wanted.
pub(super) fn emit(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError(format!("cannot write to standard output: {e}")))
        }
        _ => Ok(()),
    }
}
