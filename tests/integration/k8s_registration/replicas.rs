//! Two replicas on one PostgreSQL database: exactly one holds the Lease and writes; when it
//! stops (releasing the Lease) the other takes over and keeps entries current.

use tessera_tests::TestDatabase;
use tessera_tests::k8s::PodSpec;

use super::*;
use crate::ha::replica_with;

const WEB0: &str = "spiffe://example.org/ns/shop/sa/web/web-0";
const WEB1: &str = "spiffe://example.org/ns/shop/sa/web/web-1";

fn holder(c: &Cluster) -> Option<String> {
    let lease = c.kube.lease("tessera", "tessera-k8s-registration")?;
    lease["spec"]["holderIdentity"].as_str().map(str::to_string)
}

#[test]
fn two_replicas_elect_one_writer_and_fail_over() {
    let db = TestDatabase::create();
    let (d0, d1, d2) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let c = cluster(d0.path());
    let (r1, _) = replica_with(d1.path(), "r1", &c.extra, &db.server_config());
    let (r2, _) = replica_with(d2.path(), "r2", &c.extra, &db.server_config());
    c.kube
        .add_pod(PodSpec::new("shop", "web-0", "web", "node-1").label("app", "web"));
    c.kube.apply_cluster_spiffe_id("web", web_spec());

    wait_for("the entry", || (owned_ids(&r1) == [WEB0]).then_some(()));
    assert_eq!(owned_ids(&r2), [WEB0], "one database, one entry");
    let leader = wait_for("a Lease holder", || holder(&c));
    let (mut lead, follow) = match leader.as_str() {
        "r1" => (r1, r2),
        "r2" => (r2, r1),
        other => panic!("unexpected holder {other}"),
    };
    assert!(lead.log().contains("k8s registration: leading"));
    assert!(lead.log().contains("k8s registration: reconciled"));
    assert!(
        !follow.log().contains("k8s registration: leading"),
        "two leaders:\n{}",
        follow.log()
    );
    assert!(!follow.log().contains("k8s registration: reconciled"));
    for what in ["create", "update", "delete"] {
        let line = format!("k8s registration: {what} failed");
        assert!(
            !lead.log().contains(&line),
            "no write failed (no race with another writer):\n{}",
            lead.log()
        );
    }

    // The leader stops: it releases the Lease, the other replica takes over.
    lead.stop();
    let next = wait_for("a new Lease holder", || holder(&c).filter(|h| *h != leader));
    assert_ne!(next, leader);
    c.kube
        .add_pod(PodSpec::new("shop", "web-1", "web", "node-1").label("app", "web"));
    wait_for("the new pod's entry", || {
        (owned_ids(&follow) == [WEB0, WEB1]).then_some(())
    });
    assert!(follow.log().contains("k8s registration: leading"));
}
