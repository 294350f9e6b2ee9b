//! A [`StateStore`] that cannot be reached (every call: `Unavailable`).

use super::StateStore;
use crate::datastore::{DatastoreError, ExpiringKind, ExpiringRecord, ExpiringWrite};
use crate::oauth::BoxFuture;

/// Every operation fails with [`DatastoreError::Unavailable`]`("down")`.
#[derive(Debug, Clone, Copy)]
pub struct Down;

fn down<'a, T: Send + 'a>() -> BoxFuture<'a, Result<T, DatastoreError>> {
    Box::pin(async { Err(DatastoreError::Unavailable("down".into())) })
}

impl StateStore for Down {
    fn create<'a>(
        &'a self,
        _: ExpiringWrite<'a>,
        _: i64,
    ) -> BoxFuture<'a, Result<bool, DatastoreError>> {
        down()
    }

    fn get<'a>(
        &'a self,
        _: ExpiringKind,
        _: &'a [u8],
        _: i64,
    ) -> BoxFuture<'a, Result<Option<ExpiringRecord>, DatastoreError>> {
        down()
    }

    fn update<'a>(
        &'a self,
        _: ExpiringWrite<'a>,
        _: u64,
    ) -> BoxFuture<'a, Result<u64, DatastoreError>> {
        down()
    }

    fn delete<'a>(
        &'a self,
        _: ExpiringKind,
        _: &'a [u8],
        _: Option<u64>,
    ) -> BoxFuture<'a, Result<bool, DatastoreError>> {
        down()
    }

    fn group<'a>(
        &'a self,
        _: ExpiringKind,
        _: &'a [u8],
        _: i64,
        _: usize,
    ) -> BoxFuture<'a, Result<Vec<Vec<u8>>, DatastoreError>> {
        down()
    }
}
