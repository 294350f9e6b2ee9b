#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

pub(crate) const WEB_POD_UID: &str = "2c48913c-b29f-11e7-9350-020968147796";
pub(crate) const WEB_CID: &str = "9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961";
pub(crate) const INIT_CID: &str =
    "0e8e1e5f61d5b8b0f36ce6c3a8c8a5f2e4d4d9f6b1a0c2e3f4a5b6c7d8e9f0a1";

/// A kubelet `/pods` answer shaped like a real one: a Deployment pod with a sidecar and
/// an init container (containerd), and a CRI-O static pod, plus fields we ignore.
pub(crate) fn pod_list(web_listed: bool) -> String {
    let web_cid = if web_listed {
        format!("\"containerID\": \"containerd://{WEB_CID}\",")
    } else {
        String::new()
    };
    format!(
        r#"{{
  "kind": "PodList",
  "apiVersion": "v1",
  "metadata": {{}},
  "items": [
    {{
      "metadata": {{
        "name": "web-7d4b9c8f6d-x2lqp",
        "generateName": "web-7d4b9c8f6d-",
        "namespace": "shop",
        "uid": "{WEB_POD_UID}",
        "resourceVersion": "48213",
        "creationTimestamp": "2026-11-28T20:01:12Z",
        "labels": {{"app": "web", "pod-template-hash": "7d4b9c8f6d", "tier": "frontend"}},
        "annotations": {{"kubernetes.io/config.seen": "2026-11-28T20:01:12.1Z"}},
        "ownerReferences": [
          {{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c8f6d",
            "uid": "5f1c3a9e-8d2b-4c6f-9a7e-1b3d5f7a9c2e", "controller": true,
            "blockOwnerDeletion": true}}
        ]
      }},
      "spec": {{
        "volumes": [{{"name": "kube-api-access-7x9kq", "projected": {{"sources": []}}}}],
        "initContainers": [{{"name": "migrate", "image": "registry.example.com/shop/migrate:2.1"}}],
        "containers": [
          {{"name": "web", "image": "registry.example.com/shop/web:1.4.2",
            "ports": [{{"containerPort": 8080, "protocol": "TCP"}}]}},
          {{"name": "envoy", "image": "docker.io/envoyproxy/envoy:v1.32.1"}}
        ],
        "restartPolicy": "Always",
        "serviceAccountName": "web-sa",
        "serviceAccount": "web-sa",
        "nodeName": "worker-1",
        "priority": 0
      }},
      "status": {{
        "phase": "Running",
        "podIP": "10.244.1.17",
        "startTime": "2026-11-28T20:01:12Z",
        "initContainerStatuses": [
          {{"name": "migrate", "state": {{"terminated": {{"exitCode": 0, "reason": "Completed"}}}},
            "ready": true, "restartCount": 0,
            "image": "registry.example.com/shop/migrate:2.1",
            "imageID": "registry.example.com/shop/migrate@sha256:1111111111111111111111111111111111111111111111111111111111111111",
            "containerID": "containerd://{INIT_CID}"}}
        ],
        "containerStatuses": [
          {{"name": "envoy", "state": {{"running": {{"startedAt": "2026-11-28T20:01:14Z"}}}},
            "ready": true, "restartCount": 0,
            "image": "docker.io/envoyproxy/envoy:v1.32.1",
            "imageID": "docker.io/envoyproxy/envoy@sha256:2222222222222222222222222222222222222222222222222222222222222222",
            "containerID": "containerd://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "started": true}},
          {{"name": "web", "state": {{"waiting": {{"reason": "ContainerCreating"}}}},
            "ready": false, "restartCount": 0,
            "image": "registry.example.com/shop/web:1.4.2",
            "imageID": "registry.example.com/shop/web@sha256:3333333333333333333333333333333333333333333333333333333333333333",
            {web_cid}
            "started": false}}
        ],
        "qosClass": "Burstable"
      }}
    }},
    {{
      "metadata": {{
        "name": "etcd-worker-1",
        "namespace": "kube-system",
        "uid": "c0ffee00-1111-2222-3333-444455556666",
        "labels": {{"component": "etcd", "tier": "control-plane"}},
        "ownerReferences": [{{"apiVersion": "v1", "kind": "Node", "name": "worker-1",
          "uid": "7e57ab1e-0000-4000-8000-000000000001", "controller": true}}]
      }},
      "spec": {{"containers": [{{"name": "etcd", "image": "registry.k8s.io/etcd:3.5.21-0"}}],
        "nodeName": "worker-1", "hostNetwork": true}},
      "status": {{"phase": "Running", "containerStatuses": [
        {{"name": "etcd", "image": "registry.k8s.io/etcd:3.5.21-0",
          "imageID": "registry.k8s.io/etcd@sha256:4444444444444444444444444444444444444444444444444444444444444444",
          "containerID": "cri-o://bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "ready": true}}
      ]}}
    }}
  ]
}}"#
    )
}

pub(crate) const WEB_SELECTORS: &[&str] = &[
    "k8s:container-image:registry.example.com/shop/web:1.4.2",
    "k8s:container-image:registry.example.com/shop/web@sha256:3333333333333333333333333333333333333333333333333333333333333333",
    "k8s:container-name:web",
    "k8s:node-name:worker-1",
    "k8s:ns:shop",
    "k8s:pod-image-count:2",
    "k8s:pod-image:docker.io/envoyproxy/envoy:v1.32.1",
    "k8s:pod-image:docker.io/envoyproxy/envoy@sha256:2222222222222222222222222222222222222222222222222222222222222222",
    "k8s:pod-image:registry.example.com/shop/web:1.4.2",
    "k8s:pod-image:registry.example.com/shop/web@sha256:3333333333333333333333333333333333333333333333333333333333333333",
    "k8s:pod-init-image-count:1",
    "k8s:pod-init-image:registry.example.com/shop/migrate:2.1",
    "k8s:pod-init-image:registry.example.com/shop/migrate@sha256:1111111111111111111111111111111111111111111111111111111111111111",
    "k8s:pod-label:app:web",
    "k8s:pod-label:pod-template-hash:7d4b9c8f6d",
    "k8s:pod-label:tier:frontend",
    "k8s:pod-name:web-7d4b9c8f6d-x2lqp",
    "k8s:pod-owner-uid:ReplicaSet:5f1c3a9e-8d2b-4c6f-9a7e-1b3d5f7a9c2e",
    "k8s:pod-owner:ReplicaSet:web-7d4b9c8f6d",
    "k8s:pod-uid:2c48913c-b29f-11e7-9350-020968147796",
    "k8s:sa:web-sa",
];

fn strings(set: SelectorSet) -> Vec<String> {
    set.into_vec().iter().map(ToString::to_string).collect()
}

#[test]
fn finds_the_container_and_builds_every_selector() {
    let list: PodList = serde_json::from_str(&pod_list(true)).unwrap();
    assert_eq!(list.items.len(), 2);
    let Lookup::Found(pod, status) = find(&list, WEB_POD_UID, WEB_CID) else {
        panic!("web not found");
    };
    assert_eq!(status.name, "web");
    let mut set = SelectorSet::new();
    selectors(pod, status, &mut set);
    assert_eq!(strings(set), WEB_SELECTORS);
}

#[test]
fn init_containers_and_other_runtimes_match() {
    let list: PodList = serde_json::from_str(&pod_list(true)).unwrap();
    let Lookup::Found(_, status) = find(&list, WEB_POD_UID, INIT_CID) else {
        panic!("init container not found");
    };
    assert_eq!(status.name, "migrate");
    let etcd = "b".repeat(64);
    let Lookup::Found(pod, status) = find(&list, "C0FFEE00-1111-2222-3333-444455556666", &etcd)
    else {
        panic!("cri-o container not found");
    };
    let mut set = SelectorSet::new();
    selectors(pod, status, &mut set);
    let got = strings(set);
    assert!(
        got.contains(&"k8s:pod-owner:Node:worker-1".to_string()),
        "{got:?}"
    );
    // As SPIRE: a pod without a service account still gets an (empty) `sa:` selector.
    assert!(got.contains(&"k8s:sa:".to_string()), "{got:?}");
    assert!(
        got.contains(&"k8s:pod-init-image-count:0".to_string()),
        "{got:?}"
    );
}

#[test]
fn not_listed_wrong_pod_and_ambiguous() {
    let list: PodList = serde_json::from_str(&pod_list(false)).unwrap();
    assert!(matches!(
        find(&list, WEB_POD_UID, WEB_CID),
        Lookup::NotListed
    ));
    let list: PodList = serde_json::from_str(&pod_list(true)).unwrap();
    // The container exists, but under another pod UID than the cgroup says.
    assert!(matches!(
        find(&list, "c0ffee00-1111-2222-3333-444455556666", WEB_CID),
        Lookup::NotListed
    ));
    let twice = format!(
        r#"{{"items":[
        {{"metadata":{{"uid":"{WEB_POD_UID}"}},"status":{{"containerStatuses":[{{"name":"a","containerID":"docker://{WEB_CID}"}}]}}}},
        {{"metadata":{{"uid":"{WEB_POD_UID}"}},"status":{{"containerStatuses":[{{"name":"b","containerID":"containerd://{WEB_CID}"}}]}}}}
        ]}}"#
    );
    let list: PodList = serde_json::from_str(&twice).unwrap();
    assert!(matches!(
        find(&list, WEB_POD_UID, WEB_CID),
        Lookup::Ambiguous
    ));
}

#[test]
fn odd_values_are_skipped_not_fatal() {
    let json = format!(
        r#"{{"items":[{{"metadata":{{"uid":"{WEB_POD_UID}","namespace":"ns",
        "labels":{{"bad":"line\nbreak"}}}},
        "status":{{"containerStatuses":[{{"name":"c","containerID":"containerd://{WEB_CID}"}}]}}}}]}}"#
    );
    let list: PodList = serde_json::from_str(&json).unwrap();
    let Lookup::Found(pod, status) = find(&list, WEB_POD_UID, WEB_CID) else {
        panic!("not found");
    };
    let mut set = SelectorSet::new();
    selectors(pod, status, &mut set);
    let got = strings(set);
    assert!(got.contains(&"k8s:ns:ns".to_string()), "{got:?}");
    assert!(!got.iter().any(|s| s.contains("pod-label")), "{got:?}");
    assert!(
        got.contains(&"k8s:pod-image-count:1".to_string()),
        "{got:?}"
    );
}
