//! One behavioural suite every [`AgentStore`] must pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tessera_proto::wire::tessera::types::v1::AttestedAgent;

use super::AgentStore;

fn agent(id: &str) -> AttestedAgent {
    AttestedAgent {
        spiffe_id: format!("spiffe://e.org/{id}"),
        attestation_type: "join_token".into(),
        created_at: 7,
        ..Default::default()
    }
}

/// Put (create and replace), get, keyset paging in key order, delete.
pub async fn exercise(store: &impl AgentStore) {
    assert!(store.get_agent("spiffe://e.org/a").await.unwrap().is_none());
    for id in ["c", "a", "b", "d", "e"] {
        store.put_agent(&agent(id)).await.unwrap();
    }
    let mut banned = agent("a");
    banned.banned = true;
    store.put_agent(&banned).await.unwrap();
    assert_eq!(
        store.get_agent("spiffe://e.org/a").await.unwrap(),
        Some(banned)
    );

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = store.list_agents(&token, 2).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|a| a.spiffe_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let expected: Vec<String> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|id| format!("spiffe://e.org/{id}"))
        .collect();
    assert_eq!(seen, expected);
    let all = store.list_agents("", 5).await.unwrap();
    assert_eq!(all.items.len(), 5);
    assert_eq!(all.next_page_token, "", "an exact fit has no next page");

    assert!(store.delete_agent("spiffe://e.org/c").await.unwrap());
    assert!(!store.delete_agent("spiffe://e.org/c").await.unwrap());
    assert_eq!(store.list_agents("", 100).await.unwrap().items.len(), 4);
}
