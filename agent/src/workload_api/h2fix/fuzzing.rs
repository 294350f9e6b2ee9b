//! Fuzzing entry point (built only with `--cfg fuzzing`, as `cargo fuzz` does).

use super::rewriter::Rewriter;

/// Feeds `input` to a rewriter in one piece and to another split at `split`: neither may
/// panic, and both must forward the same bytes (the rewriter is a pure function of the byte
/// stream, whatever the read boundaries).
pub fn rewrite(input: &[u8], split: usize) {
    let whole = {
        let mut r = Rewriter::new();
        let mut out = Vec::new();
        r.feed(input, &mut out);
        r.finish(&mut out);
        out
    };
    let (a, b) = input.split_at(split.min(input.len()));
    let mut r = Rewriter::new();
    let mut out = Vec::new();
    r.feed(a, &mut out);
    r.feed(b, &mut out);
    r.finish(&mut out);
    assert_eq!(out, whole, "read boundaries changed the forwarded bytes");
}
