//! Router-level tests of the browser flows (tower `oneshot`, real `Accounts` over the
//! in-memory store, fake clients).
