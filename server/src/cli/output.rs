//! `--output pretty|json` (SPIRE's values), shared by the commands that print records.

use clap::ValueEnum;

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
