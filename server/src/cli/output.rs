//! `--output pretty|json` (SPIRE's values), shared by the commands that print records, and
//! the writes to stdout every command goes through ([`outln!`], [`out!`]).

use std::io::Write as _;

use clap::ValueEnum;

/// Writes `args` to stdout. A reader that went away (`entry show | head -1`) ends the
/// process quietly with status 141, what a shell reports for a command killed by SIGPIPE,
/// instead of the panic `print!` raises; any other write error ends it with status 1 and
/// a message on stderr.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) else {
        return;
    };
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(141);
    }
    eprintln!("error: cannot write to stdout: {e}");
    std::process::exit(1);
}

/// `print!` through [`write_stdout`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*))
    };
}

/// `println!` through [`write_stdout`].
macro_rules! outln {
    () => {
        $crate::cli::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};

/// How a command prints its result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Text for people.
    #[default]
    Pretty,
    /// One JSON document for scripts.
    Json,
}

/// The `--output` option.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct OutputArg {
    /// Output format.
    #[arg(long = "output", value_enum, default_value = "pretty")]
    pub format: Output,
}

/// Prints a list of records: `{"<json_key>": [...]}` as JSON, or a count line and one
/// pretty block per record.
pub fn print_records<T>(
    items: &[T],
    format: Output,
    json_key: &str,
    noun: &str,
    to_json: impl Fn(&T) -> serde_json::Value,
    pretty: impl Fn(&T),
) {
    match format {
        Output::Json => {
            let list: Vec<serde_json::Value> = items.iter().map(to_json).collect();
            outln!("{}", serde_json::json!({ json_key: list }));
        }
        Output::Pretty => {
            let n = items.len();
            outln!("Found {n} {noun}{}", if n == 1 { "" } else { "s" });
            for item in items {
                outln!();
                pretty(item);
            }
        }
    }
}
