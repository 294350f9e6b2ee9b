//! The PostgreSQL backend (sqlx): several server replicas share one database.
//!
//! Every statement binds its values (no SQL is built from input). Concurrency is the
//! database's: unique constraints, row locks (`FOR UPDATE`) and compare-and-swap
//! `UPDATE … WHERE revision = $n` inside one transaction where two writes must agree.
//! A write is acknowledged after its transaction committed (durable per the server's
//! `synchronous_commit`).

mod agents;
mod api_keys;
mod bundles;
mod consents;
mod entries;
mod errors;
mod expiring;
mod federation;
mod grants;
mod join_tokens;
mod journal;
mod listen;
mod oauth_clients;
mod open;
#[cfg(test)]
mod rls_tests;
mod store;
mod tenants;
#[cfg(test)]
pub mod test_db;
#[cfg(test)]
mod tests;
mod users;

pub use listen::PgChangeListener;
pub use open::{PgOpenError, PgSettings, check_uri};
pub use store::PgStore;
