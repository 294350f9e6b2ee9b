//! `api watch`: keep SVID files current and reload the workload on every rotation — the
//! spiffe-helper job, built in.

use std::path::PathBuf;
use std::time::Duration;

use tessera_proto::wire::workload::X509svidRequest;

use super::client::request;
use super::files::write_x509;
use super::{CliError, SocketArg, WorkloadClient, emit};

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// `api watch` arguments.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Directory for `svid.pem`, `svid.key`, `bundle.pem` (and federated bundles).
    #[arg(long)]
    write: PathBuf,
    /// Run this command (`sh -c`) after each update.
    #[arg(long, conflicts_with_all = ["signal", "pid_file"])]
    exec: Option<String>,
    /// Send this signal (e.g. HUP) after each update to the process in `--pid-file`.
    #[arg(long, requires = "pid_file")]
    signal: Option<String>,
    /// File holding the PID to signal.
    #[arg(long, requires = "signal")]
    pid_file: Option<PathBuf>,
    #[command(flatten)]
    socket: SocketArg,
}

async fn reload(args: &WatchArgs) -> Result<(), CliError> {
    if let Some(cmd) = &args.exec {
        let status = tokio::process::Command::new("sh")
            .args(["-c", cmd])
            .status()
            .await
            .map_err(|e| CliError(format!("running --exec: {e}")))?;
        if !status.success() {
            eprintln!("warning: --exec command exited with {status}");
        }
    }
    if let (Some(signal), Some(pid_file)) = (&args.signal, &args.pid_file) {
        let pid = std::fs::read_to_string(pid_file)
            .map_err(|e| CliError(format!("reading {}: {e}", pid_file.display())))?;
        let pid = pid.trim();
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CliError(format!(
                "{} does not hold a PID",
                pid_file.display()
            )));
        }
        let signal = signal.trim_start_matches("SIG");
        let status = tokio::process::Command::new("kill")
            .args([&format!("-{signal}"), pid])
            .status()
            .await
            .map_err(|e| CliError(format!("sending SIG{signal}: {e}")))?;
        if !status.success() {
            eprintln!("warning: signalling {pid} failed ({status})");
        }
    }
    Ok(())
}

async fn follow(args: &WatchArgs) -> Result<(), CliError> {
    let mut client = WorkloadClient::connect(&args.socket.resolve()?).await?;
    let mut stream = client
        .api()
        .fetch_x509svid(request(X509svidRequest {}))
        .await?
        .into_inner();
    while let Some(response) = stream.message().await? {
        let files = write_x509(&args.write, &response)?;
        let ids: Vec<_> = response
            .svids
            .iter()
            .map(|s| s.spiffe_id.as_str())
            .collect();
        emit(&format!(
            "updated {} ({})\n",
            files.join(", "),
            ids.join(", ")
        ))?;
        reload(args).await?;
    }
    Err(CliError("the agent closed the stream".into()))
}

/// Runs until interrupted, reconnecting with backoff.
pub async fn run(args: WatchArgs) -> Result<(), CliError> {
    let mut backoff = Duration::from_millis(500);
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            result = follow(&args) => {
                if let Err(e) = result {
                    eprintln!("watch: {e}; retrying in {backoff:?}");
                }
            }
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
