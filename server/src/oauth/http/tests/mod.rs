//! Tests of the OAuth HTTP surface with in-memory fakes.
