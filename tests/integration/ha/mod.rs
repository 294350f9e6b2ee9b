//! High availability on PostgreSQL: real servers on one database with a real agent, and
//! `tessera-server migrate`.

mod cross_replica;
mod durability;
mod migrate;
mod oauth;
mod oauth_keys;
mod replicas;
