#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use tessera_proto::clock::Clock;
use tessera_proto::identity::TrustDomain;
use tessera_proto::wire::tessera::types::v1::Selector;

use super::*;
use crate::datastore::memory::MemoryStore;

#[derive(Debug)]
struct Fixed;

impl Clock for Fixed {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000)
    }
}

fn service() -> EntriesService<MemoryStore> {
    let td = TrustDomain::new("example.org").unwrap();
    let policy = Policy::new(td, Duration::from_secs(86_400));
    EntriesService::new(MemoryStore::default(), policy, Arc::new(Fixed))
}

fn entry(path: &str, selector: &str) -> Entry {
    let (t, v) = selector.split_once(':').unwrap();
    Entry {
        spiffe_id: format!("spiffe://example.org{path}"),
        parent_id: "spiffe://example.org/tessera/agent/n1".into(),
        selectors: vec![Selector {
            r#type: t.into(),
            value: v.into(),
        }],
        ..Entry::default()
    }
}

async fn create(svc: &EntriesService<MemoryStore>, entries: Vec<Entry>) -> Vec<EntryResult> {
    let req = Request::new(CreateEntriesRequest { entries });
    svc.create_entries(req).await.unwrap().into_inner().results
}

#[tokio::test]
async fn batch_create_reports_each_item() {
    let svc = service();
    let results = create(
        &svc,
        vec![
            entry("/a", "unix:uid:1"),
            entry("/b", "bad type:x"),
            entry("/a", "unix:uid:1"),
        ],
    )
    .await;
    let codes: Vec<i32> = results.iter().map(|r| r.code).collect();
    assert_eq!(
        codes,
        [
            Code::Ok as i32,
            Code::InvalidArgument as i32,
            Code::AlreadyExists as i32
        ]
    );
    assert!(
        results[1].message.starts_with("selectors[0]"),
        "{}",
        results[1].message
    );
    let created = results[0].entry.clone().unwrap();
    assert_eq!((created.revision, created.created_at), (1, 1_000));
    assert_eq!(created.id.len(), 36);
    assert_eq!(svc.store.count_entries().await.unwrap(), 1);

    let got = svc
        .get_entry(Request::new(GetEntryRequest {
            id: created.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.entry, Some(created));
    let missing = svc
        .get_entry(Request::new(GetEntryRequest { id: "nope".into() }))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test]
async fn update_delete_and_list() {
    let svc = service();
    let mut all = Vec::new();
    for i in 0..5 {
        all.push(entry(&format!("/w{i}"), &format!("unix:uid:{i}")));
    }
    let ids: Vec<String> = create(&svc, all)
        .await
        .into_iter()
        .map(|r| r.entry.unwrap().id)
        .collect();

    let mut changed = entry("/w0", "unix:uid:1");
    changed.id = ids[0].clone();
    changed.parent_id = "spiffe://example.org/tessera/agent/n2".into();
    let updated = svc
        .update_entry(Request::new(UpdateEntryRequest {
            entry: Some(changed.clone()),
        }))
        .await
        .unwrap()
        .into_inner()
        .entry
        .unwrap();
    assert_eq!((updated.revision, updated.created_at), (6, 1_000));
    changed.id = "unknown".into();
    let err = svc
        .update_entry(Request::new(UpdateEntryRequest {
            entry: Some(changed),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let list = |page_size, page_token: &str, parent: &str| ListEntriesRequest {
        by_parent_id: parent.into(),
        page_size,
        page_token: page_token.into(),
        ..ListEntriesRequest::default()
    };
    let page = svc
        .list_entries(Request::new(list(3, "", "")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.entries.len(), 3);
    let rest = svc
        .list_entries(Request::new(list(3, &page.next_page_token, "")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((rest.entries.len(), rest.next_page_token.as_str()), (2, ""));
    let n2 = "spiffe://example.org/tessera/agent/n2";
    let by_parent = svc
        .list_entries(Request::new(list(0, "", n2)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_parent.entries, vec![updated]);

    let req = DeleteEntriesRequest {
        ids: vec![ids[1].clone(), ids[1].clone(), "bad/id".into()],
    };
    let results = svc
        .delete_entries(Request::new(req))
        .await
        .unwrap()
        .into_inner()
        .results;
    let codes: Vec<i32> = results.iter().map(|r| r.code).collect();
    assert_eq!(
        codes,
        [
            Code::Ok as i32,
            Code::NotFound as i32,
            Code::InvalidArgument as i32
        ]
    );
    assert_eq!(svc.store.count_entries().await.unwrap(), 4);
}

#[tokio::test]
async fn clients_cannot_set_or_change_ownership() {
    let svc = service();
    // A client claiming an entry belongs to the Kubernetes registration controller.
    let mut claimed = entry("/a", "unix:uid:1");
    claimed.managed_by = "k8s_registration/prod".into();
    let created = create(&svc, vec![claimed]).await[0].entry.clone().unwrap();
    assert_eq!(created.managed_by, "", "an operator's entry is manual");

    // An entry the controller owns keeps its mark through an admin update, and a manual
    // one cannot be handed to the controller by one.
    let mut owned = entry("/b", "unix:uid:2");
    owned.id = "k8s-1".into();
    owned.managed_by = "k8s_registration/prod".into();
    svc.store.create_entry(owned.clone()).await.unwrap();
    for (id, want) in [
        ("k8s-1", "k8s_registration/prod"),
        (created.id.as_str(), ""),
    ] {
        let mut update = svc.store.get_entry(id).await.unwrap().unwrap();
        update.managed_by = if want.is_empty() {
            "k8s_registration/prod".into()
        } else {
            String::new()
        };
        update.hint = "changed".into();
        let updated = svc
            .update_entry(Request::new(UpdateEntryRequest {
                entry: Some(update),
            }))
            .await
            .unwrap()
            .into_inner()
            .entry
            .unwrap();
        assert_eq!(updated.managed_by, want, "{id}");
        assert_eq!(updated.hint, "changed");
    }
}

#[tokio::test]
async fn only_role_admin_creates_or_changes_admin_role_entries() {
    use crate::access::{Grant, Role};
    let svc = service();
    let as_role = |role: Role, entries: Vec<Entry>| {
        let mut req = Request::new(CreateEntriesRequest { entries });
        req.extensions_mut().insert(Grant::new(role, "uid 7"));
        req
    };
    let ops = Entry {
        admin_role: "operator".into(),
        ..entry("/ops", "unix:uid:1")
    };
    // Without a grant (no access gate) and as operator: refused.
    let results = create(&svc, vec![ops.clone()]).await;
    assert_eq!(results[0].code, Code::PermissionDenied as i32);
    let refused = svc
        .create_entries(as_role(Role::Operator, vec![ops.clone()]))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(
        refused[0].message,
        "role \"operator\" may not grant admin role \"operator\": only role \"admin\" may \
         create or change admin-role entries"
    );
    // As admin: stored with both fields.
    let created = svc
        .create_entries(as_role(Role::Admin, vec![ops]))
        .await
        .unwrap()
        .into_inner()
        .results;
    let stored = created[0].entry.clone().unwrap();
    assert_eq!(
        (stored.admin, stored.admin_role.as_str()),
        (false, "operator")
    );
    // An operator may not change it, not even to drop its role.
    let mut req = Request::new(UpdateEntryRequest {
        entry: Some(Entry {
            admin_role: String::new(),
            ..stored.clone()
        }),
    });
    req.extensions_mut()
        .insert(Grant::new(Role::Operator, "uid 7"));
    let err = svc.update_entry(req).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // The boolean alone means admin; an unknown role is invalid.
    let legacy = svc
        .create_entries(as_role(
            Role::Admin,
            vec![Entry {
                admin: true,
                ..entry("/legacy", "unix:uid:2")
            }],
        ))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(legacy[0].entry.as_ref().unwrap().admin_role, "admin");
    let bad = svc
        .create_entries(as_role(
            Role::Admin,
            vec![Entry {
                admin_role: "root".into(),
                ..entry("/bad", "unix:uid:3")
            }],
        ))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(bad[0].code, Code::InvalidArgument as i32);
}
