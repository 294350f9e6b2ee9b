//! The Kubernetes API stand-in, driven only through the real `kube` client (and, for the
//! kubelet's read-only port, a bare HTTP/1.1 request).

use std::io::{Read, Write};
use std::time::{Duration, SystemTime};

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec, TokenReviewStatus};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::PostParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde_json::Value;
use tessera_tests::k8s::{KubeStandIn, PodSpec, TokenRequest};

const NS: &str = "workloads";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A kube client from the kubeconfig the stand-in writes, optionally edited first.
async fn client_with(k8s: &KubeStandIn, edit: impl FnOnce(&mut Kubeconfig)) -> Client {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    k8s.write_kubeconfig(&path);
    let mut kubeconfig = Kubeconfig::read_from(&path).unwrap();
    edit(&mut kubeconfig);
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

async fn client(k8s: &KubeStandIn) -> Client {
    client_with(k8s, |_| {}).await
}

async fn review(client: &Client, token: &str, audiences: &[&str]) -> TokenReviewStatus {
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: Some(token.to_string()),
            audiences: Some(audiences.iter().map(|a| a.to_string()).collect()),
        },
        ..Default::default()
    };
    let reviewed = Api::<TokenReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .unwrap();
    assert_eq!(
        reviewed.spec.token.as_deref(),
        Some(token),
        "spec is echoed"
    );
    reviewed.status.unwrap()
}

fn assert_rejected(status: &TokenReviewStatus, why: &str, contains: &str) {
    assert_eq!(
        status.authenticated, None,
        "{why}: authenticated must be absent"
    );
    let error = status.error.as_deref().unwrap_or_default();
    assert!(
        error.contains(contains),
        "{why}: error {error:?} lacks {contains:?}"
    );
    assert!(status.audiences.is_none(), "{why}: no audiences on failure");
}

fn api_status(err: kube::Error) -> Box<kube::core::Status> {
    match err {
        kube::Error::Api(status) => status,
        other => panic!("expected Error::Api, got {other:?}"),
    }
}

/// The claims part of a JWT (unverified).
fn jwt_part(token: &str, index: usize) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(index).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn valid_pod_bound_token_authenticates_with_user_extras_and_audiences() {
    let k8s = KubeStandIn::start();
    let node = k8s.add_node("node-a");
    let pod = k8s.add_pod(PodSpec::new(NS, "web-0", "web", "node-a").label("app", "web"));
    let token = k8s.issue_token(
        &TokenRequest::new(NS, "web")
            .pod("web-0")
            .audience("tessera"),
    );

    let header = jwt_part(&token, 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], k8s.key_id().as_str());
    let claims = jwt_part(&token, 1);
    assert_eq!(claims["iss"], k8s.url());
    assert_eq!(claims["sub"], "system:serviceaccount:workloads:web");
    assert_eq!(claims["aud"], serde_json::json!(["tessera"]));
    assert_eq!(claims["kubernetes.io"]["pod"]["uid"], pod.uid.as_str());
    assert_eq!(claims["kubernetes.io"]["node"]["uid"], node.uid.as_str());
    for claim in ["exp", "iat", "nbf"] {
        assert!(claims[claim].is_i64(), "{claim}");
    }

    runtime().block_on(async {
        let client = client(&k8s).await;
        let status = review(&client, &token, &["tessera", "something-else"]).await;
        assert_eq!(status.authenticated, Some(true), "{:?}", status.error);
        assert_eq!(status.error, None);
        assert_eq!(status.audiences, Some(vec!["tessera".to_string()]));
        let user = status.user.unwrap();
        assert_eq!(
            user.username.as_deref(),
            Some("system:serviceaccount:workloads:web")
        );
        assert_eq!(user.uid.as_deref(), Some(pod.service_account_uid.as_str()));
        assert_eq!(
            user.groups.unwrap(),
            [
                "system:serviceaccounts",
                "system:serviceaccounts:workloads",
                "system:authenticated"
            ]
        );
        let extra = user.extra.unwrap();
        let one = |k: &str| extra[&format!("authentication.kubernetes.io/{k}")].clone();
        assert_eq!(one("pod-name"), ["web-0"]);
        assert_eq!(one("pod-uid"), [pod.uid.as_str()]);
        assert_eq!(one("node-name"), ["node-a"]);
        assert_eq!(one("node-uid"), [node.uid.as_str()]);
        let jti = claims["jti"].as_str().unwrap();
        assert_eq!(one("credential-id"), [format!("JTI={jti}")]);

        // No audiences requested: the API server's own audience (the issuer).
        let default_aud = k8s.issue_token(&TokenRequest::new(NS, "web"));
        let status = review(&client, &default_aud, &[]).await;
        assert_eq!(status.authenticated, Some(true), "{:?}", status.error);
        assert_eq!(status.audiences, Some(vec![k8s.url().to_string()]));
        // ... which a token for another audience does not have.
        assert_rejected(
            &review(&client, &token, &[]).await,
            "implicit aud",
            "audiences",
        );

        // A service account Tessera does not allow-list still authenticates (as itself).
        let other = k8s.issue_token(&TokenRequest::new("default", "intruder").audience("tessera"));
        let status = review(&client, &other, &["tessera"]).await;
        assert_eq!(status.authenticated, Some(true));
        assert_eq!(
            status.user.unwrap().username.as_deref(),
            Some("system:serviceaccount:default:intruder")
        );
    });
}

#[test]
fn bad_tokens_are_not_authenticated() {
    let k8s = KubeStandIn::start();
    k8s.add_node("node-a");
    k8s.add_pod(PodSpec::new(NS, "web-0", "web", "node-a"));
    k8s.add_pod(PodSpec::new(NS, "job-1", "web", "node-a"));
    let req = TokenRequest::new(NS, "web")
        .pod("web-0")
        .audience("tessera");
    let forged = k8s.forge_token(&req);
    let expired = k8s.issue_token(&req.clone().expired(Duration::from_secs(120)));
    let future = k8s.issue_token(
        &req.clone()
            .issued_at(SystemTime::now() + Duration::from_secs(600)),
    );
    let wrong_aud = k8s.issue_token(&TokenRequest::new(NS, "web").pod("web-0").audience("other"));
    let mut foreign = k8s.token_claims(&req);
    foreign["iss"] = serde_json::json!("https://kubernetes.default.svc.cluster.local");
    let foreign = k8s.sign_claims(&foreign);
    let deleted = k8s.issue_token(
        &TokenRequest::new(NS, "web")
            .pod("job-1")
            .audience("tessera"),
    );
    k8s.delete_pod(NS, "job-1");
    let stale = k8s.issue_token(&req);
    let recreated = k8s.recreate_pod(NS, "web-0");
    let fresh = k8s.issue_token(&req);

    runtime().block_on(async {
        let client = client(&k8s).await;
        let auds = ["tessera"];
        let cases = [
            (&forged, "forged", "cryptographic"),
            (&expired, "expired", "expired"),
            (&future, "not yet valid", "not valid yet"),
            (
                &wrong_aud,
                "wrong audience",
                "invalid for the target audiences",
            ),
            (&foreign, "wrong issuer", "issuer"),
            (&deleted, "deleted pod", "invalidated"),
            (&stale, "recreated pod", "does not match claim"),
        ];
        for (token, why, contains) in cases {
            assert_rejected(&review(&client, token, &auds).await, why, contains);
        }
        let garbage = review(&client, "not-a-jwt", &auds).await;
        assert_rejected(&garbage, "garbage", "invalid bearer token");

        let status = review(&client, &fresh, &auds).await;
        assert_eq!(status.authenticated, Some(true), "{:?}", status.error);
        let extra = status.user.unwrap().extra.unwrap();
        assert_eq!(
            extra["authentication.kubernetes.io/pod-uid"],
            [recreated.uid.as_str()]
        );
    });
}

#[test]
fn pods_and_nodes_come_back_with_their_uids() {
    let k8s = KubeStandIn::start();
    let node = k8s.add_node("node-a");
    k8s.set_node_label("node-a", "topology.kubernetes.io/zone", "z1");
    let pod = k8s.add_pod(
        PodSpec::new(NS, "web-0", "web", "node-a")
            .label("app", "web")
            .container("app", "registry.local/web:2")
            .container("sidecar", "registry.local/proxy:1")
            .owner("StatefulSet", "web"),
    );
    runtime().block_on(async {
        let client = client(&k8s).await;
        let got = Api::<Pod>::namespaced(client.clone(), NS)
            .get("web-0")
            .await
            .unwrap();
        assert_eq!(got.metadata.uid.as_deref(), Some(pod.uid.as_str()));
        assert_eq!(got.metadata.labels.unwrap()["app"], "web");
        let owner = &got.metadata.owner_references.unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("StatefulSet", "web")
        );
        let spec = got.spec.unwrap();
        assert_eq!(spec.node_name.as_deref(), Some("node-a"));
        assert_eq!(spec.service_account_name.as_deref(), Some("web"));
        assert_eq!(spec.containers.len(), 2);
        let status = got.status.unwrap();
        assert_eq!(status.phase.as_deref(), Some("Running"));
        let ids: Vec<String> = status
            .container_statuses
            .unwrap()
            .into_iter()
            .map(|c| c.container_id.unwrap())
            .collect();
        let expected: Vec<String> = pod
            .containers
            .iter()
            .map(|c| c.container_id.clone())
            .collect();
        assert_eq!(ids, expected);
        for c in &pod.containers {
            assert_eq!(c.container_id, format!("containerd://{}", c.id));
            assert_eq!(c.id.len(), 64);
        }

        let got = Api::<Node>::all(client.clone())
            .get("node-a")
            .await
            .unwrap();
        assert_eq!(got.metadata.uid.as_deref(), Some(node.uid.as_str()));
        assert_eq!(
            got.metadata.labels.unwrap()["topology.kubernetes.io/zone"],
            "z1"
        );
        let addresses = got.status.unwrap().addresses.unwrap();
        assert_eq!(addresses[0].type_, "InternalIP");
        assert_eq!(addresses[0].address, "127.0.0.1");

        let missing = Api::<Pod>::namespaced(client.clone(), NS).get("nope").await;
        let status = api_status(missing.unwrap_err());
        assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
        let missing = Api::<Node>::all(client.clone()).get("nope").await;
        assert_eq!(api_status(missing.unwrap_err()).code, 404);

        // A recreated pod has a new UID under the same name.
        let recreated = k8s.recreate_pod(NS, "web-0");
        let got = Api::<Pod>::namespaced(client, NS)
            .get("web-0")
            .await
            .unwrap();
        assert_eq!(got.metadata.uid.as_deref(), Some(recreated.uid.as_str()));
        assert_ne!(recreated.uid, pod.uid);
    });
}

#[test]
fn requests_without_valid_credentials_get_401_and_malformed_reviews_400() {
    let k8s = KubeStandIn::start();
    k8s.add_node("node-a");
    runtime().block_on(async {
        let anonymous = client_with(&k8s, |kc| kc.auth_infos[0].auth_info = None).await;
        let err = Api::<Node>::all(anonymous).get("node-a").await.unwrap_err();
        let status = api_status(err);
        assert_eq!((status.code, status.reason.as_str()), (401, "Unauthorized"));
        assert_eq!(status.message, "Unauthorized");
        assert!(status.is_failure());

        let wrong = client_with(&k8s, |kc| {
            let user = kc.auth_infos[0].auth_info.as_mut().unwrap();
            user.token = Some("not-the-token".to_string().into());
        })
        .await;
        let err = Api::<Node>::all(wrong).get("node-a").await.unwrap_err();
        assert_eq!(api_status(err).code, 401);

        let client = client(&k8s).await;
        let empty = TokenReview::default();
        let err = Api::<TokenReview>::all(client)
            .create(&PostParams::default(), &empty)
            .await
            .unwrap_err();
        let status = api_status(err);
        assert_eq!((status.code, status.reason.as_str()), (400, "BadRequest"));
        assert!(status.is_failure());
    });
}

#[test]
fn issuer_discovery_serves_the_key_that_signs_tokens() {
    let k8s = KubeStandIn::start();
    k8s.add_node("node-a");
    let token = k8s.issue_token(&TokenRequest::new(NS, "web").audience("tessera"));
    runtime().block_on(async {
        let client = client(&k8s).await;
        let get = |path: &str| axum::http::Request::get(path).body(Vec::new()).unwrap();
        let discovery: Value = client
            .request(get("/.well-known/openid-configuration"))
            .await
            .unwrap();
        assert_eq!(discovery["issuer"], k8s.url());
        assert_eq!(
            discovery["jwks_uri"],
            format!("{}/openid/v1/jwks", k8s.url()).as_str()
        );
        assert_eq!(
            discovery["id_token_signing_alg_values_supported"][0],
            "RS256"
        );
        let jwks: jsonwebtoken::jwk::JwkSet = client.request(get("/openid/v1/jwks")).await.unwrap();
        let jwk = jwks.find(&k8s.key_id()).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&["tessera"]);
        validation.set_issuer(&[k8s.url()]);
        let data = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
        assert_eq!(data.claims["sub"], "system:serviceaccount:workloads:web");
        let forged = k8s.forge_token(&TokenRequest::new(NS, "web").audience("tessera"));
        assert!(jsonwebtoken::decode::<Value>(&forged, &key, &validation).is_err());
    });
}

/// `GET /pods` over plain HTTP/1.1; returns (status code, body).
fn http_get(base: &str, path: &str) -> (u16, Value) {
    let authority = base.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let code = head.split(' ').nth(1).unwrap().parse().unwrap();
    (code, serde_json::from_str(body).unwrap())
}

#[test]
fn kubelet_lists_the_pods_of_its_node() {
    let k8s = KubeStandIn::start();
    k8s.add_node("node-a");
    k8s.add_node("node-b");
    let here = k8s.add_pod(PodSpec::new(NS, "web-0", "web", "node-a"));
    k8s.add_pod(PodSpec::new(NS, "web-1", "web", "node-b"));

    let (code, list) = http_get(k8s.kubelet_readonly_url(), "/pods");
    assert_eq!(code, 200);
    assert_eq!(list["kind"], "PodList");
    assert_eq!(list["apiVersion"], "v1");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only node-a's pods");
    assert_eq!(items[0]["metadata"]["uid"], here.uid.as_str());
    assert_eq!(
        items[0]["status"]["containerStatuses"][0]["containerID"],
        here.containers[0].container_id.as_str()
    );

    k8s.delete_pod(NS, "web-0");
    let (_, list) = http_get(k8s.kubelet_readonly_url(), "/pods");
    assert!(list["items"].as_array().unwrap().is_empty());

    // The secure port: HTTPS with the stand-in's CA, a bearer token required.
    let token = k8s.issue_token(&TokenRequest::new("tessera", "agent"));
    runtime().block_on(async {
        let secure = k8s.kubelet_secure_url().to_string();
        let kubelet = client_with(&k8s, |kc| {
            kc.clusters[0].cluster.as_mut().unwrap().server = Some(secure.clone());
            let user = kc.auth_infos[0].auth_info.as_mut().unwrap();
            user.token = Some(token.clone().into());
        })
        .await;
        let get = || axum::http::Request::get("/pods").body(Vec::new()).unwrap();
        let list: Value = kubelet.request(get()).await.unwrap();
        assert_eq!(list["kind"], "PodList");
        assert!(list["items"].as_array().unwrap().is_empty());

        let anonymous = client_with(&k8s, |kc| {
            kc.clusters[0].cluster.as_mut().unwrap().server = Some(secure.clone());
            kc.auth_infos[0].auth_info = None;
        })
        .await;
        let err = anonymous.request::<Value>(get()).await.unwrap_err();
        let status = api_status(err);
        assert_eq!(
            (status.code, status.message.as_str()),
            (401, "Unauthorized")
        );
    });
}

/// Watch semantics the registration controller relies on: changes after a list's
/// resourceVersion in order, bookmarks, `410 Gone` (an `ERROR` event) after compaction.
#[test]
fn watches_follow_a_resource_version_with_bookmarks_and_410_after_compaction() {
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::{ListParams, WatchEvent, WatchParams};
    use tokio_stream::StreamExt;

    let k8s = KubeStandIn::start();
    k8s.add_node("n1");
    runtime().block_on(async {
        let client = client(&k8s).await;
        let pods: Api<Pod> = Api::all(client.clone());
        let list = pods.list(&ListParams::default()).await.unwrap();
        assert!(list.items.is_empty());
        let rv = list.metadata.resource_version.unwrap();
        let pod = k8s.add_pod(PodSpec::new(NS, "a", "sa", "n1"));
        k8s.set_pod_label(NS, "a", "app", Some("x"));
        k8s.delete_pod(NS, "a");
        // The pod's namespace was created with it, with the label the API server sets.
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let ns = namespaces.list(&ListParams::default()).await.unwrap();
        let labels = ns.items[0].metadata.labels.clone().unwrap();
        assert_eq!(labels["kubernetes.io/metadata.name"], NS);

        let stream = pods
            .watch(&WatchParams::default().timeout(10), &rv)
            .await
            .unwrap();
        let mut stream = std::pin::pin!(stream);
        let mut seen = Vec::new();
        let mut bookmark = None;
        while bookmark.is_none() {
            match stream.next().await.unwrap().unwrap() {
                WatchEvent::Added(p) => seen.push(("ADDED", p)),
                WatchEvent::Modified(p) => seen.push(("MODIFIED", p)),
                WatchEvent::Deleted(p) => seen.push(("DELETED", p)),
                WatchEvent::Bookmark(b) => bookmark = Some(b.metadata.resource_version),
                WatchEvent::Error(e) => panic!("{e:?}"),
            }
        }
        let kinds: Vec<&str> = seen.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);
        assert!(
            seen.iter()
                .all(|(_, p)| p.metadata.uid.as_deref() == Some(pod.uid.as_str()))
        );
        let versions: Vec<u64> = seen
            .iter()
            .map(|(_, p)| {
                p.metadata
                    .resource_version
                    .clone()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
        let mark: u64 = bookmark.unwrap().parse().unwrap();
        assert!(mark >= versions[2]);

        // History compacted: a watch from the old version gets 410 Gone and must relist.
        k8s.compact();
        let stream = pods.watch(&WatchParams::default(), &rv).await.unwrap();
        let mut stream = std::pin::pin!(stream);
        match stream.next().await.unwrap().unwrap() {
            WatchEvent::Error(e) => {
                assert_eq!(e.code, 410);
                assert_eq!(e.reason, "Expired");
            }
            other => panic!("expected 410, got {other:?}"),
        }
        assert_eq!(k8s.gone_served(), 1);
        let relisted = pods.list(&ListParams::default()).await.unwrap();
        let fresh = relisted.metadata.resource_version.unwrap();
        let stream = pods
            .watch(&WatchParams::default().timeout(3), &fresh)
            .await
            .unwrap();
        let mut stream = std::pin::pin!(stream);
        assert!(matches!(
            stream.next().await.unwrap().unwrap(),
            WatchEvent::Bookmark(_)
        ));
    });
}

/// Leases: create once (409 AlreadyExists after), replace only at the current
/// resourceVersion (409 Conflict otherwise).
#[test]
fn leases_are_compare_and_swap_on_resource_version() {
    use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};

    let k8s = KubeStandIn::start();
    runtime().block_on(async {
        let leases: Api<Lease> = Api::namespaced(client(&k8s).await, "tessera");
        let mut lease = Lease::default();
        lease.metadata.name = Some("l".into());
        lease.spec = Some(LeaseSpec {
            holder_identity: Some("a".into()),
            ..LeaseSpec::default()
        });
        let created = leases.create(&PostParams::default(), &lease).await.unwrap();
        let err = leases
            .create(&PostParams::default(), &lease)
            .await
            .unwrap_err();
        assert_eq!(api_status(err).code, 409);
        let mut b = created.clone();
        b.spec.as_mut().unwrap().holder_identity = Some("b".into());
        let replaced = leases
            .replace("l", &PostParams::default(), &b)
            .await
            .unwrap();
        assert_ne!(
            replaced.metadata.resource_version,
            created.metadata.resource_version
        );
        // A writer still at the old version loses.
        let mut c = created.clone();
        c.spec.as_mut().unwrap().holder_identity = Some("c".into());
        let err = leases
            .replace("l", &PostParams::default(), &c)
            .await
            .unwrap_err();
        let status = api_status(err);
        assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
        let got = leases.get("l").await.unwrap();
        assert_eq!(got.spec.unwrap().holder_identity.as_deref(), Some("b"));
        assert_eq!(
            k8s.lease("tessera", "l").unwrap()["spec"]["holderIdentity"],
            "b"
        );
    });
}
