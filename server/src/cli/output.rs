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
            println!("{}", serde_json::json!({ json_key: list }));
        }
        Output::Pretty => {
            let n = items.len();
            println!("Found {n} {noun}{}", if n == 1 { "" } else { "s" });
            for item in items {
                println!();
                pretty(item);
            }
        }
    }
}
