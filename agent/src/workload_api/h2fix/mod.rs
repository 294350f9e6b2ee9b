//! Server-side fix for HTTP/2 clients that send an `:authority` the `http` crate rejects.
//!
//! grpcio (Python gRPC, used by the `spiffe` package) sends the percent-encoded Unix socket path
//! as `:authority`; h2 answers such a request with `RST_STREAM(PROTOCOL_ERROR)`. Wrapping each
//! accepted Workload API connection in [`AuthorityRewrite`] rewrites that value to `localhost`
//! before tonic sees it.
//!
//! - `io` — the [`AuthorityRewrite`] IO adapter.
//! - `rewriter` — the sans-IO frame parser and header block rewriter.
//! - `hpack` — HPACK decoding (mirroring the client's table) and literal-only encoding.
//! - `huffman` — the RFC 7541 Huffman code.

mod hpack;
mod huffman;
mod io;
mod rewriter;

pub use io::AuthorityRewrite;

#[cfg(fuzzing)]
pub mod fuzzing;

#[cfg(test)]
mod hpack_tests;
#[cfg(test)]
mod interop_tests;
#[cfg(test)]
mod rewriter_tests;
