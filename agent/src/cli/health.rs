//! `tessera-agent healthcheck`: with `--config` naming an agent whose `[health]` is on, the
//! agent's own readiness (`GET /ready`: the function the probes use); otherwise the Workload
//! API answers (any answer but "unavailable").

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use tessera_proto::wire::workload::X509BundlesRequest;
use tokio::net::TcpStream;
use tonic::Code;

use super::client::request;
use super::{CliError, SocketArg, WorkloadClient, emit};
use crate::config::AgentConfig;

/// How long `GET /ready` may take.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// Healthy when the agent is ready (`--config` with `[health]`), else when it answers the
/// Workload API; a caller without an identity (PermissionDenied) still proves it is up.
pub async fn run(socket: &SocketArg, config: Option<&Path>) -> Result<(), CliError> {
    let mut path = socket.resolve()?;
    if let Some(config) = config {
        let config = AgentConfig::load(config).map_err(|e| CliError(e.to_string()))?;
        if let Some(address) = config.health.bind_address {
            return ready(address).await;
        }
        if socket.path.is_none() {
            path = config.socket_path();
        }
    }
    workload_api(path).await
}

/// `GET /ready` on the agent's health endpoint (an unspecified bind address is asked on
/// loopback).
async fn ready(address: SocketAddr) -> Result<(), CliError> {
    let target = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), address.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), address.port())
        }
        _ => address,
    };
    let (status, body) = tokio::time::timeout(READY_TIMEOUT, get_ready(target))
        .await
        .map_err(|_| {
            CliError(format!(
                "agent is unhealthy: {target} did not answer /ready"
            ))
        })??;
    if status == 200 {
        return emit("Agent is ready.\n");
    }
    let reasons = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v["not_ready"].as_array().map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
        })
        .unwrap_or_else(|| format!("HTTP {status}"));
    Err(CliError(format!("agent is not ready: {reasons}")))
}

async fn get_ready(target: SocketAddr) -> Result<(u16, Bytes), CliError> {
    let fail = |e: &dyn std::fmt::Display| CliError(format!("agent is unhealthy: {target}: {e}"));
    let stream = TcpStream::connect(target).await.map_err(|e| fail(&e))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| fail(&e))?;
    tokio::spawn(connection);
    let request = http::Request::get("/ready")
        .header(http::header::HOST, target.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(|e| fail(&e))?;
    let response = sender.send_request(request).await.map_err(|e| fail(&e))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| fail(&e))?
        .to_bytes();
    Ok((status, body))
}

async fn workload_api(path: PathBuf) -> Result<(), CliError> {
    let mut client = WorkloadClient::connect(&path).await?;
    match client
        .api()
        .fetch_x509_bundles(request(X509BundlesRequest {}))
        .await
    {
        Ok(_) => {}
        Err(s) if s.code() == Code::PermissionDenied => {}
        Err(s) => {
            return Err(CliError(format!(
                "agent is unhealthy: {} ({:?})",
                s.message(),
                s.code()
            )));
        }
    }
    emit("Agent is healthy.\n")
}
