//! The stored form of a remembered consent: the scopes a user approved for a client.
//!
//! Stored as JSON, one record per (user, client).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The scopes `user_id` approved for `client_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// The user's opaque ID.
    pub user_id: String,
    /// The client the user approved.
    pub client_id: String,
    /// The approved scopes.
    pub scopes: BTreeSet<String>,
    /// When the user first approved the client (Unix seconds).
    pub created_at: i64,
    /// When the approved scopes last changed (Unix seconds).
    pub updated_at: i64,
}

/// How [`super::ConsentStore::put_consent`] combines the given scopes with stored ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeUpdate {
    /// Adds the scopes to those already approved.
    Merge,
    /// The scopes become the whole approved set.
    Replace,
}

/// One consent write ([`super::ConsentStore::put_consent`]).
#[derive(Debug, Clone, Copy)]
pub struct ConsentWrite<'a> {
    /// The user.
    pub user_id: &'a str,
    /// The client.
    pub client_id: &'a str,
    /// The scopes approved now.
    pub scopes: &'a [String],
    /// Merge with or replace the stored scopes.
    pub update: ScopeUpdate,
    /// Unix seconds of the write.
    pub now: i64,
}

impl ConsentWrite<'_> {
    /// The record after this write over `stored`.
    pub fn apply(&self, stored: Option<ConsentRecord>) -> ConsentRecord {
        let given = self.scopes.iter().cloned();
        match stored {
            Some(mut record) => {
                if self.update == ScopeUpdate::Replace {
                    record.scopes.clear();
                }
                record.scopes.extend(given);
                record.updated_at = self.now;
                record
            }
            None => ConsentRecord {
                user_id: self.user_id.to_owned(),
                client_id: self.client_id.to_owned(),
                scopes: given.collect(),
                created_at: self.now,
                updated_at: self.now,
            },
        }
    }
}
