//! A tiny stand-in kubelet on a real socket, and the client and k8s attestor against it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::*;
use crate::attestor::workload::pods::tests::{WEB_CID, WEB_POD_UID, WEB_SELECTORS, pod_list};
use crate::attestor::workload::{K8sAttestor, SelectorSet, WorkloadAttestError};

/// A stand-in kubelet answering `GET /pods`: the web container is listed from the
/// `listed_from`-th request on (0 = always); other paths get 404.
pub(crate) struct FakeKubelet {
    /// `http(s)://127.0.0.1:PORT`.
    pub url: String,
    /// Requests served.
    pub hits: Arc<AtomicUsize>,
    /// The `Authorization` header of each request.
    pub auth: Arc<Mutex<Vec<Option<String>>>>,
}

impl FakeKubelet {
    pub(crate) async fn start(listed_from: usize, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let hits = Arc::new(AtomicUsize::new(0));
        let auth = Arc::new(Mutex::new(Vec::new()));
        let (h, a) = (hits.clone(), auth.clone());
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let (h, a, tls) = (h.clone(), a.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        Some(cfg) => {
                            let s = TlsAcceptor::from(cfg).accept(tcp).await.unwrap();
                            serve(s, listed_from, &h, &a).await;
                        }
                        None => serve(tcp, listed_from, &h, &a).await,
                    }
                });
            }
        });
        Self {
            url: format!("{scheme}://127.0.0.1:{port}"),
            hits,
            auth,
        }
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    listed_from: usize,
    hits: &AtomicUsize,
    auth: &Mutex<Vec<Option<String>>>,
) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await.unwrap() == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    auth.lock().unwrap().push(
        head.lines()
            .find_map(|l| l.strip_prefix("Authorization: "))
            .map(str::to_owned),
    );
    let response = if head.starts_with("GET /pods HTTP/1.1\r\n") {
        let n = hits.fetch_add(1, Ordering::SeqCst);
        let body = pod_list(n >= listed_from);
        // Chunked, like Go's net/http for large bodies, split mid-JSON.
        let (a, b) = body.split_at(body.len() / 2);
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
             {:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
            a.len(),
            b.len()
        )
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found".to_owned()
    };
    s.write_all(response.as_bytes()).await.unwrap();
    s.shutdown().await.ok();
}

/// A fixture root with `/proc/4242/cgroup` placing the process in the web container.
pub(crate) fn cgroup_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let proc_dir = dir.path().join("proc/4242");
    std::fs::create_dir_all(&proc_dir).unwrap();
    std::fs::write(
        proc_dir.join("cgroup"),
        format!(
            "0::/../../kubepods-burstable-pod{}.slice/cri-containerd-{WEB_CID}.scope\n",
            WEB_POD_UID.replace('-', "_")
        ),
    )
    .unwrap();
    std::fs::write(proc_dir.join("mountinfo"), "").unwrap();
    dir
}

fn strings(set: SelectorSet) -> Vec<String> {
    set.into_vec().iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn fetches_and_decodes_a_chunked_pod_list() {
    let kubelet = FakeKubelet::start(0, None).await;
    let client = KubeletClient::new(&kubelet.url, None, None).unwrap();
    let list = client.pods().await.unwrap();
    assert_eq!(list.items.len(), 2);
    assert_eq!(kubelet.auth.lock().unwrap().as_slice(), [None]);
    let client = KubeletClient::new(&format!("{}/nope", kubelet.url), None, None).unwrap();
    let err = client.pods().await.unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}

#[tokio::test]
async fn attests_after_the_container_gets_listed() {
    let kubelet = FakeKubelet::start(3, None).await;
    let root = cgroup_root();
    let client = KubeletClient::new(&kubelet.url, None, None).unwrap();
    let attestor =
        K8sAttestor::new(root.path(), client).with_polling(10, std::time::Duration::from_millis(5));
    let mut set = SelectorSet::new();
    attestor.attest(4242, &mut set).await.unwrap();
    assert_eq!(strings(set), WEB_SELECTORS);
    assert_eq!(kubelet.hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn gives_up_when_never_listed() {
    let kubelet = FakeKubelet::start(usize::MAX, None).await;
    let root = cgroup_root();
    let client = KubeletClient::new(&kubelet.url, None, None).unwrap();
    let attestor =
        K8sAttestor::new(root.path(), client).with_polling(3, std::time::Duration::from_millis(5));
    let mut set = SelectorSet::new();
    let err = attestor.attest(4242, &mut set).await.unwrap_err();
    assert!(matches!(err, WorkloadAttestError::Unavailable(_)), "{err}");
    assert_eq!(kubelet.hits.load(Ordering::SeqCst), 3);
    assert!(set.is_empty());
}

#[tokio::test]
async fn not_in_a_pod_asks_nobody() {
    let kubelet = FakeKubelet::start(0, None).await;
    let root = cgroup_root();
    std::fs::write(
        root.path().join("proc/4242/cgroup"),
        "0::/user.slice/user-1000.slice/session-2.scope\n",
    )
    .unwrap();
    let client = KubeletClient::new(&kubelet.url, None, None).unwrap();
    let mut set = SelectorSet::new();
    K8sAttestor::new(root.path(), client)
        .attest(4242, &mut set)
        .await
        .unwrap();
    assert!(set.is_empty());
    assert_eq!(kubelet.hits.load(Ordering::SeqCst), 0);
    // A vanished process is a changed process.
    let client = KubeletClient::new(&kubelet.url, None, None).unwrap();
    let err = K8sAttestor::new(root.path(), client)
        .attest(5151, &mut set)
        .await
        .unwrap_err();
    assert!(matches!(err, WorkloadAttestError::ProcessChanged), "{err}");
}

#[tokio::test]
async fn an_unreachable_kubelet_is_unavailable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let root = cgroup_root();
    let client = KubeletClient::new(&format!("http://127.0.0.1:{port}"), None, None).unwrap();
    let err = K8sAttestor::new(root.path(), client)
        .attest(4242, &mut SelectorSet::new())
        .await
        .unwrap_err();
    assert!(matches!(err, WorkloadAttestError::Unavailable(_)), "{err}");
}

/// A self-signed kubelet serving certificate for 127.0.0.1: (server config, CA PEM).
pub(crate) fn kubelet_tls() -> (Arc<rustls::ServerConfig>, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert_pem = ck.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        ck.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
    (Arc::new(cfg), cert_pem)
}

#[tokio::test]
async fn a_kubelet_keeping_the_connection_open_is_not_waited_for() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = tcp.read(&mut buf).await.unwrap();
        let body = pod_list(true);
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
        tcp.write_all(head.as_bytes()).await.unwrap();
        tcp.write_all(body.as_bytes()).await.unwrap();
        // Keep the connection open well past the test's patience.
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        drop(tcp);
    });
    let client = KubeletClient::new(&format!("http://127.0.0.1:{port}"), None, None).unwrap();
    let list = tokio::time::timeout(std::time::Duration::from_secs(3), client.pods())
        .await
        .expect("the client waited for the server to close")
        .unwrap();
    assert_eq!(list.items.len(), 2);
}
