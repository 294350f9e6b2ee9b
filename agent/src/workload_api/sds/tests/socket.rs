//! SDS on the Workload API's real socket: Envoy's generated client, no security header.

use std::time::Duration;

use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DiscoveryRequest, DiscoveryResponse,
};
use envoy_types::pb::envoy::service::secret::v3::secret_discovery_service_client::SecretDiscoveryServiceClient;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Streaming};

use super::super::super::tests::support::{FakeAttestor, Harness, channel, within};
use super::super::session::secret_type_url;
use super::{ME, World, certificate_id, decode, request};

async fn client(h: &Harness) -> SecretDiscoveryServiceClient<Channel> {
    SecretDiscoveryServiceClient::new(
        channel(&h.path, Endpoint::from_static("http://localhost")).await,
    )
}

/// An open `StreamSecrets`: the request sender and the response stream.
async fn open(
    h: &Harness,
) -> (
    mpsc::Sender<DiscoveryRequest>,
    Result<Streaming<DiscoveryResponse>, tonic::Status>,
) {
    let (tx, rx) = mpsc::channel(4);
    let mut c = client(h).await;
    let out = c
        .stream_secrets(ReceiverStream::new(rx))
        .await
        .map(tonic::Response::into_inner);
    (tx, out)
}

async fn next(stream: &mut Streaming<DiscoveryResponse>) -> DiscoveryResponse {
    within(stream.message()).await.unwrap().unwrap()
}

/// Nothing arrives for a while.
async fn quiet(stream: &mut Streaming<DiscoveryResponse>) {
    let got = tokio::time::timeout(Duration::from_millis(300), stream.message()).await;
    assert!(got.is_err(), "unexpected message: {got:?}");
}

#[tokio::test]
async fn a_stream_subscribes_acks_and_gets_rotations() {
    let w = World::new();
    let h = Harness::start(Some(w.state()), FakeAttestor::with(&[ME])).await;
    let (tx, stream) = open(&h).await;
    let mut stream = stream.unwrap();
    tx.send(request(&["default", "ROOTCA"], "", ""))
        .await
        .unwrap();
    let r1 = next(&mut stream).await;
    assert_eq!(r1.version_info, "1");
    let secrets = decode(&r1);
    assert_eq!(secrets[0].name, "ROOTCA");
    assert_eq!(certificate_id(&secrets[1]), "spiffe://example.org/a");
    tx.send(request(&["default", "ROOTCA"], "1", &r1.nonce))
        .await
        .unwrap();
    quiet(&mut stream).await;

    // A new state with the same secrets for this caller: nothing pushed.
    let mut same = (*h.state.borrow().clone().unwrap()).clone();
    same.agent_id = "spiffe://example.org/agent2".into();
    h.publish(same);
    quiet(&mut stream).await;

    // A rotation is pushed.
    h.publish(w.state());
    let r2 = next(&mut stream).await;
    assert_eq!(r2.version_info, "2");
    assert_ne!(decode(&r2)[1], decode(&r1)[1]);
}

#[tokio::test]
async fn fetch_secrets_needs_no_security_header_and_delta_is_unimplemented() {
    let w = World::new();
    let h = Harness::start(Some(w.state()), FakeAttestor::with(&[ME])).await;
    let mut c = client(&h).await;
    let r = c
        .fetch_secrets(request(&["default"], "", ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.type_url, secret_type_url());
    assert_eq!(certificate_id(&decode(&r)[0]), "spiffe://example.org/a");
    let refused = c
        .fetch_secrets(request(&["spiffe://example.org/c"], "", ""))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    let delta = c
        .delta_secrets(tokio_stream::iter(Vec::<DeltaDiscoveryRequest>::new()))
        .await
        .unwrap_err();
    assert_eq!(delta.code(), Code::Unimplemented);
}

#[tokio::test]
async fn a_caller_without_an_identity_gets_nothing() {
    let w = World::new();
    let h = Harness::start(Some(w.state()), FakeAttestor::with(&["unix:uid:3000"])).await;
    let (_tx, stream) = open(&h).await;
    assert_eq!(stream.unwrap_err().code(), Code::PermissionDenied);
    let mut c = client(&h).await;
    let r = c.fetch_secrets(request(&[], "", "")).await.unwrap_err();
    assert_eq!(r.code(), Code::PermissionDenied);
}
