//! [`KubeClient`] against a canned HTTP API server on a real socket: request shapes,
//! response parsing, 404 as `None`, and an unreachable server as `Unreachable`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use super::*;

const REVIEW: &str = r#"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview",
 "metadata":{},"spec":{"token":"t","audiences":["tessera-server"]},
 "status":{"authenticated":true,"audiences":["tessera-server"],
  "user":{"username":"system:serviceaccount:tessera:agent","uid":"sa-uid",
   "extra":{"authentication.kubernetes.io/pod-name":["agent-1"],
            "authentication.kubernetes.io/pod-uid":["pod-uid-1"]}}}}"#;
const POD: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"agent-1",
 "namespace":"tessera","uid":"pod-uid-1","labels":{"app":"agent"}},
 "spec":{"nodeName":"node-a","containers":[]},"status":{"hostIP":"10.0.0.7"}}"#;
const NOT_FOUND: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},
 "status":"Failure","message":"nodes \"node-a\" not found","reason":"NotFound","code":404}"#;

/// Serves canned answers by path; records each request line and body.
async fn api_server() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = conn.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if buf.len() < end + 4 + length {
                        continue;
                    }
                    let line = text.lines().next().unwrap().to_string();
                    let body = text[end + 4..end + 4 + length].to_string();
                    buf.drain(..end + 4 + length);
                    let (status, reply) =
                        if line.starts_with("POST /apis/authentication.k8s.io/v1/tokenreviews") {
                            ("201 Created", REVIEW)
                        } else if line.starts_with("GET /api/v1/namespaces/tessera/pods/agent-1 ") {
                            ("200 OK", POD)
                        } else {
                            ("404 Not Found", NOT_FOUND)
                        };
                    log.lock().unwrap().push((line, body));
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{reply}",
                        reply.len()
                    );
                    conn.write_all(response.as_bytes()).await.unwrap();
                }
            });
        }
    });
    (url, seen)
}

fn kubeconfig(dir: &std::path::Path, server: &str) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: test\n\
         clusters:\n- name: test\n  cluster:\n    server: {server}\n\
         users:\n- name: test\n  user:\n    token: server-credential\n\
         contexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn talks_to_the_api_server_as_kubernetes_expects() {
    let (url, seen) = api_server().await;
    let dir = tempfile::tempdir().unwrap();
    let client = KubeClient::new(Some(&kubeconfig(dir.path(), &url)))
        .await
        .unwrap();

    let review = client
        .token_review("agent-token", &["tessera-server".to_string()])
        .await
        .unwrap();
    assert_eq!(review.authenticated, Some(true));
    assert_eq!(review.username, "system:serviceaccount:tessera:agent");
    assert_eq!(review.audiences, ["tessera-server"]);
    assert_eq!(
        review.extra["authentication.kubernetes.io/pod-uid"],
        ["pod-uid-1"]
    );

    let pod = client.get_pod("tessera", "agent-1").await.unwrap().unwrap();
    assert_eq!(pod.uid, "pod-uid-1");
    assert_eq!(pod.node_name, "node-a");
    assert_eq!(pod.host_ip, "10.0.0.7");
    assert_eq!(pod.labels["app"], "agent");
    assert_eq!(client.get_node("node-a").await.unwrap(), None);

    let seen = seen.lock().unwrap();
    assert!(
        seen[0]
            .0
            .starts_with("POST /apis/authentication.k8s.io/v1/tokenreviews")
    );
    let body: serde_json::Value = serde_json::from_str(&seen[0].1).unwrap();
    assert_eq!(body["apiVersion"], "authentication.k8s.io/v1");
    assert_eq!(body["kind"], "TokenReview");
    assert_eq!(body["spec"]["token"], "agent-token");
    assert_eq!(
        body["spec"]["audiences"],
        serde_json::json!(["tessera-server"])
    );
    assert!(
        seen[2].0.starts_with("GET /api/v1/nodes/node-a "),
        "{:?}",
        seen[2]
    );
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_and_bad_config_is_reported() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let client = KubeClient::new(Some(&kubeconfig(dir.path(), &url)))
        .await
        .unwrap();
    let err = client.get_node("n").await.unwrap_err();
    assert!(matches!(err, KubeApiError::Unreachable(_)), "{err:?}");

    let missing = KubeClient::new(Some(&dir.path().join("nope"))).await;
    assert!(matches!(missing, Err(KubeApiError::Config(_))));
}
