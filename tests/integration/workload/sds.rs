//! Envoy SDS v3 on the agent's Workload API socket, against the real agent, with a client
//! that speaks the protocol as Envoy does: subscribe with a node, ACK each response with
//! its version and nonce, NACK with `error_detail`; the certificate and key it receives
//! complete an openssl mutual TLS handshake with another workload's SVID.

use std::path::Path;
use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::{DataSource, Node as EnvoyNode, data_source};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateValidationContext, Secret, SpiffeCertValidatorConfig, secret,
};
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use envoy_types::pb::envoy::service::secret::v3::secret_discovery_service_client::SecretDiscoveryServiceClient;
use envoy_types::pb::google::rpc::Status as RpcStatus;
use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Code, Streaming};

use super::interop::{Files, fetch_as, openssl_mtls, spiffe_id_of};
use super::{Node, OTHER_UID, WAIT, my_uid};

const SECRET_TYPE: &str = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
const ENVOY: &str = "spiffe://example.org/envoy";
const OTHER: &str = "spiffe://example.org/other";

/// An SDS client over the agent's socket; no `workload.spiffe.io` header (Envoy sends none).
async fn client(socket: &Path) -> SecretDiscoveryServiceClient<Channel> {
    let socket = socket.to_path_buf();
    let channel = Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move {
                tokio::net::UnixStream::connect(socket)
                    .await
                    .map(hyper_util::rt::TokioIo::new)
            }
        }))
        .await
        .unwrap();
    SecretDiscoveryServiceClient::new(channel)
}

/// What Envoy sends: its node, the secret type, the names, the last accepted version and
/// the nonce of the response it answers.
fn request(names: &[&str], version: &str, nonce: &str) -> DiscoveryRequest {
    DiscoveryRequest {
        version_info: version.into(),
        node: Some(EnvoyNode {
            id: "sidecar~10.0.0.1~envoy.test~default".into(),
            cluster: "test".into(),
            user_agent_name: "envoy".into(),
            ..Default::default()
        }),
        resource_names: names.iter().map(|n| (*n).to_string()).collect(),
        type_url: SECRET_TYPE.into(),
        response_nonce: nonce.into(),
        ..Default::default()
    }
}

fn nack(names: &[&str], accepted: &str, nonce: &str) -> DiscoveryRequest {
    DiscoveryRequest {
        error_detail: Some(RpcStatus {
            code: Code::InvalidArgument as i32,
            message: "Failed to load certificate chain (test NACK)".into(),
            ..Default::default()
        }),
        ..request(names, accepted, nonce)
    }
}

/// An open `StreamSecrets` call, as Envoy holds one.
struct SdsStream {
    tx: mpsc::Sender<DiscoveryRequest>,
    rx: Streaming<DiscoveryResponse>,
}

impl SdsStream {
    async fn open(socket: &Path) -> Result<Self, tonic::Status> {
        let (tx, requests) = mpsc::channel(4);
        let rx = client(socket)
            .await
            .stream_secrets(ReceiverStream::new(requests))
            .await?
            .into_inner();
        Ok(Self { tx, rx })
    }

    async fn send(&self, request: DiscoveryRequest) {
        self.tx.send(request).await.unwrap();
    }

    async fn next(&mut self) -> Result<DiscoveryResponse, tonic::Status> {
        tokio::time::timeout(WAIT, self.rx.message())
            .await
            .expect("no SDS response in time")
            .map(|m| m.expect("the stream ended"))
    }

    /// Asserts nothing arrives for `d`.
    async fn quiet(&mut self, d: Duration, why: &str) {
        let got = tokio::time::timeout(d, self.rx.message()).await;
        assert!(got.is_err(), "{why}: unexpected {got:?}");
    }
}

fn secrets(r: &DiscoveryResponse) -> Vec<Secret> {
    assert_eq!(r.type_url, SECRET_TYPE);
    r.resources
        .iter()
        .map(|a| {
            assert_eq!(a.type_url, SECRET_TYPE);
            Secret::decode(a.value.as_slice()).unwrap()
        })
        .collect()
}

fn named<'a>(secrets: &'a [Secret], name: &str) -> &'a Secret {
    secrets
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", names_of(secrets)))
}

fn names_of(secrets: &[Secret]) -> Vec<&str> {
    secrets.iter().map(|s| s.name.as_str()).collect()
}

fn inline(source: &Option<DataSource>) -> Vec<u8> {
    match source.as_ref().and_then(|s| s.specifier.clone()) {
        Some(data_source::Specifier::InlineBytes(b)) => b,
        other => panic!("not inline bytes: {other:?}"),
    }
}

/// (chain PEM, key PEM) of a TLS certificate secret.
fn certificate(s: &Secret) -> (Vec<u8>, Vec<u8>) {
    match &s.r#type {
        Some(secret::Type::TlsCertificate(c)) => {
            (inline(&c.certificate_chain), inline(&c.private_key))
        }
        other => panic!("{} is not a TLS certificate: {other:?}", s.name),
    }
}

fn validation(s: &Secret) -> &CertificateValidationContext {
    match &s.r#type {
        Some(secret::Type::ValidationContext(v)) => v,
        other => panic!("{} is not a validation context: {other:?}", s.name),
    }
}

/// (trust domain, PEM bundle) of each trust domain in a SPIFFE validator context.
fn spiffe_validator(s: &Secret) -> Vec<(String, Vec<u8>)> {
    let custom = validation(s).custom_validator_config.as_ref().unwrap();
    assert_eq!(custom.name, "envoy.tls.cert_validator.spiffe");
    let any = custom.typed_config.as_ref().unwrap();
    assert_eq!(
        any.type_url,
        "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig"
    );
    SpiffeCertValidatorConfig::decode(any.value.as_slice())
        .unwrap()
        .trust_domains
        .into_iter()
        .map(|td| (td.name, inline(&td.trust_bundle)))
        .collect()
}

fn leaf_der(chain_pem: &[u8]) -> Vec<u8> {
    x509_parser::pem::Pem::iter_from_buffer(chain_pem)
        .next()
        .unwrap()
        .unwrap()
        .contents
}

/// Writes the `default` certificate and the `ROOTCA` bundle as openssl files.
fn write_files(dir: &Path, secrets: &[Secret]) -> Files {
    std::fs::create_dir_all(dir).unwrap();
    let (chain, key) = certificate(named(secrets, "default"));
    let roots = spiffe_validator(named(secrets, "ROOTCA"));
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0].0, "example.org");
    std::fs::write(dir.join("svid.pem"), chain).unwrap();
    std::fs::write(dir.join("svid.key"), key).unwrap();
    std::fs::write(dir.join("bundle.pem"), &roots[0].1).unwrap();
    Files {
        dir: dir.to_path_buf(),
    }
}

/// Rotates the X.509 CA: prepare (a new authority in the bundle), activate, taint the old
/// one (SVIDs are re-issued by the new one).
fn rotate_ca(node: &Node, step: &str) {
    match step {
        "prepare" => {
            node.server.ok(&["authority", "x509", "prepare"]);
        }
        _ => {
            let show = node.server.ok(&["authority", "x509", "show"]);
            let ids: Vec<&str> = show
                .lines()
                .filter_map(|l| l.strip_prefix("Authority ID: "))
                .map(str::trim)
                .collect();
            let prepared = show
                .split("Authority ID: ")
                .skip(1)
                .find(|block| block.to_lowercase().contains("prepared"))
                .and_then(|block| block.lines().next())
                .map(str::trim)
                .unwrap_or_else(|| panic!("no prepared authority in:\n{show}"));
            let old = ids.iter().find(|id| **id != prepared).unwrap();
            node.server
                .ok(&["authority", "x509", "activate", "--authority-id", prepared]);
            node.server
                .ok(&["authority", "x509", "taint", "--authority-id", old]);
        }
    }
}

#[test]
fn an_envoy_style_client_subscribes_acks_nacks_sees_rotations_and_does_mtls() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path());
    node.register(ENVOY, my_uid(), &[]);
    node.register(OTHER, OTHER_UID, &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let names = ["default", "ROOTCA"];

    let (first, latest) = rt.block_on(async {
        let mut s = SdsStream::open(&node.socket).await.unwrap();
        s.send(request(&names, "", "")).await;
        let r1 = s.next().await.unwrap();
        assert_eq!(r1.version_info, "1");
        assert!(!r1.nonce.is_empty());
        let first = secrets(&r1);
        assert_eq!(names_of(&first), ["ROOTCA", "default"]);
        let (chain, _) = certificate(named(&first, "default"));
        assert_eq!(spiffe_id_of(&leaf_der(&chain)), ENVOY);
        // ACK: no answer.
        s.send(request(&names, &r1.version_info, &r1.nonce)).await;
        s.quiet(Duration::from_secs(1), "after an ACK").await;

        // An entry change that is not this stream's: nothing pushed.
        tokio::task::block_in_place(|| {
            node.register("spiffe://example.org/other2", OTHER_UID, &[]);
        });
        s.quiet(Duration::from_secs(2), "another workload's new entry")
            .await;

        // A bundle change (a prepared CA) is pushed; Envoy rejects it (NACK, still on
        // version 1): it is not sent again.
        tokio::task::block_in_place(|| rotate_ca(&node, "prepare"));
        let r2 = s.next().await.unwrap();
        assert_eq!(r2.version_info, "2");
        assert_ne!(r2.nonce, r1.nonce);
        let rootca = spiffe_validator(named(&secrets(&r2), "ROOTCA"));
        assert_eq!(
            x509_parser::pem::Pem::iter_from_buffer(&rootca[0].1).count(),
            2,
            "both authorities"
        );
        s.send(nack(&names, &r1.version_info, &r2.nonce)).await;
        s.quiet(Duration::from_secs(2), "after a NACK").await;
        // A stale nonce is ignored.
        s.send(request(&["ROOTCA"], &r1.version_info, &r1.nonce))
            .await;
        s.quiet(Duration::from_secs(1), "a stale nonce").await;

        // The SVID rotation (new CA active) is pushed with a new version.
        tokio::task::block_in_place(|| rotate_ca(&node, "activate"));
        let mut latest = s.next().await.unwrap();
        loop {
            let (chain, _) = certificate(named(&secrets(&latest), "default"));
            let (old_chain, _) = certificate(named(&first, "default"));
            if leaf_der(&chain) != leaf_der(&old_chain) {
                break;
            }
            s.send(request(&names, &latest.version_info, &latest.nonce))
                .await;
            latest = s.next().await.unwrap();
        }
        assert!(latest.version_info.parse::<u64>().unwrap() >= 3);
        s.send(request(&names, &latest.version_info, &latest.nonce))
            .await;

        // FetchSecrets: ALL as a SPIFFE validator with one trust bundle per trust domain.
        let all = client(&node.socket)
            .await
            .fetch_secrets(request(&["ALL"], "", ""))
            .await
            .unwrap()
            .into_inner();
        let all = secrets(&all);
        assert_eq!(names_of(&all), ["ALL"]);
        let tds = spiffe_validator(&all[0]);
        assert_eq!(tds.len(), 1);
        assert_eq!(tds[0].0, "example.org");
        (first, secrets(&latest))
    });

    // The certificate and key received over SDS, before and after the rotation, complete a
    // mutual TLS handshake with another workload's SVID.
    let other = fetch_as(&node, OTHER_UID, "other");
    openssl_mtls(
        &write_files(&dir.path().join("sds-1"), &first),
        &other,
        ENVOY,
    );
    let other = fetch_as(&node, OTHER_UID, "other-after");
    openssl_mtls(
        &write_files(&dir.path().join("sds-2"), &latest),
        &other,
        ENVOY,
    );
}

#[test]
fn an_sds_caller_gets_nothing_it_is_not_entitled_to() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path());
    node.register(OTHER, OTHER_UID, &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // This uid has no entry: no stream, no fetch, not even the bundle.
        let refused = SdsStream::open(&node.socket).await.err().unwrap();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        let refused = client(&node.socket)
            .await
            .fetch_secrets(request(&[], "", ""))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    });
    node.register(ENVOY, my_uid(), &[]);
    rt.block_on(async {
        // Another workload's SVID by name: refused, and the stream ends.
        let mut s = SdsStream::open(&node.socket).await.unwrap();
        s.send(request(&["default", OTHER], "", "")).await;
        let refused = s.next().await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert!(refused.message().contains(OTHER), "{refused:?}");
        // A trust domain it does not federate with, by fetch.
        let refused = client(&node.socket)
            .await
            .fetch_secrets(request(&["spiffe://partner.org"], "", ""))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        // Everything it may have: its own SVID and bundle only.
        let mine = client(&node.socket)
            .await
            .fetch_secrets(request(&[], "", ""))
            .await
            .unwrap()
            .into_inner();
        let mine = secrets(&mine);
        assert_eq!(names_of(&mine), ["spiffe://example.org", ENVOY]);
    });
}
