//! `tessera-agent`: the node agent. Node attestation, the agent's link to the server and
//! the SPIFFE Workload API arrive with the next issues; this binary only answers
//! `--help` and `--version` today.

use clap::Parser;

/// tessera-agent: attests workloads and serves them SVIDs over the SPIFFE Workload API.
#[derive(Debug, Parser)]
#[command(name = "tessera-agent", version, about)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
    eprintln!("tessera-agent: no commands yet (see README: the agent lands with node attestation)");
    std::process::exit(2);
}
