//! Unit tests of token exchange.
