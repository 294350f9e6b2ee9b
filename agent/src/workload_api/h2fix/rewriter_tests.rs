//! Frame-level tests of the rewriter and the IO adapter.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

use super::AuthorityRewrite;
use super::hpack::{Decoder, Field};
use super::huffman;
use super::rewriter::{MAX_BLOCK, MAX_FRAME_SIZE, PREFACE, Rewriter};

const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut out = vec![len[1], len[2], len[3], kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A string literal, plain or Huffman-coded.
fn string(s: &[u8], huff: bool) -> Vec<u8> {
    let data = if huff { huffman::encode(s) } else { s.to_vec() };
    assert!(data.len() < 127);
    let mut out = vec![u8::try_from(data.len()).unwrap() | if huff { 0x80 } else { 0 }];
    out.extend_from_slice(&data);
    out
}

/// A grpcio-like first request block: incremental indexing throughout.
fn first_block(authority: &[u8], huff: bool) -> Vec<u8> {
    let mut b = vec![0x83, 0x86, 0x44];
    b.extend(string(b"/SpiffeWorkloadAPI/FetchJWTBundles", huff));
    b.push(0x41);
    b.extend(string(authority, huff));
    b.push(0x5f);
    b.extend(string(b"application/grpc", huff));
    for (n, v) in [
        (&b"te"[..], &b"trailers"[..]),
        (b"workload.spiffe.io", b"true"),
    ] {
        b.push(0x40);
        b.extend(string(n, huff));
        b.extend(string(v, huff));
    }
    b
}

/// The same request again, all from the client's dynamic table.
const SECOND_BLOCK: [u8; 7] = [0x83, 0x86, 0xc2, 0xc1, 0xc0, 0xbf, 0xbe];

fn expected(authority: &str) -> Vec<(String, String)> {
    [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", "/SpiffeWorkloadAPI/FetchJWTBundles"),
        (":authority", authority),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
        ("workload.spiffe.io", "true"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect()
}

/// Splits the output after the preface into frames.
fn parse_frames(bytes: &[u8]) -> Vec<(u8, u8, u32, Vec<u8>)> {
    assert!(bytes.starts_with(PREFACE));
    let mut rest = &bytes[PREFACE.len()..];
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let len = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        let stream = u32::from_be_bytes([rest[5], rest[6], rest[7], rest[8]]);
        frames.push((rest[3], rest[4], stream, rest[9..9 + len].to_vec()));
        rest = &rest[9 + len..];
    }
    frames
}

/// Decodes the header blocks of rewritten output the way h2 would: one decoder for the
/// connection. Also checks the emitted frames' shape.
fn h2_view(frames: &[(u8, u8, u32, Vec<u8>)], h2: &mut Decoder) -> Vec<Vec<(String, String)>> {
    let mut blocks = Vec::new();
    let mut block = Vec::new();
    for (kind, flags, _, payload) in frames {
        if *kind == HEADERS {
            assert_eq!(flags & PADDED, 0);
            let skip = if flags & PRIORITY != 0 { 5 } else { 0 };
            block.extend_from_slice(&payload[skip..]);
        } else if *kind == CONTINUATION {
            block.extend_from_slice(payload);
        } else {
            continue;
        }
        assert!(payload.len() <= MAX_FRAME_SIZE);
        if flags & END_HEADERS != 0 {
            let fields: Vec<Field> = h2.decode(&block, 1 << 20).unwrap();
            blocks.push(
                fields
                    .iter()
                    .map(|f| {
                        (
                            String::from_utf8(f.name.clone()).unwrap(),
                            String::from_utf8(f.value.clone()).unwrap(),
                        )
                    })
                    .collect(),
            );
            block.clear();
        }
    }
    blocks
}

fn connection(blocks: &[Vec<u8>]) -> Vec<u8> {
    let mut input = PREFACE.to_vec();
    input.extend(frame(0x4, 0, 0, &[0, 3, 0, 0, 0, 0])); // SETTINGS
    for (i, b) in blocks.iter().enumerate() {
        let stream = 1 + 2 * u32::try_from(i).unwrap();
        input.extend(frame(HEADERS, END_HEADERS, stream, b));
        input.extend(frame(0x0, END_STREAM, stream, b"\0\0\0\0\0")); // DATA
    }
    input
}

fn rewrite_all(input: &[u8]) -> (Vec<u8>, Rewriter) {
    let mut r = Rewriter::new();
    let mut out = Vec::new();
    r.feed(input, &mut out);
    r.finish(&mut out);
    (out, r)
}

#[test]
fn h2fix_rewrites_percent_encoded_authority_across_blocks() {
    for huff in [false, true] {
        let input = connection(&[
            first_block(b"tmp%2Fagent.sock", huff),
            SECOND_BLOCK.to_vec(),
        ]);
        let (out, r) = rewrite_all(&input);
        assert_eq!(r.rewrites(), 2);
        let frames = parse_frames(&out);
        let mut h2 = Decoder::new(4096);
        let blocks = h2_view(&frames, &mut h2);
        assert_eq!(blocks, vec![expected("localhost"), expected("localhost")]);
        assert_eq!(h2.table_size(), 0, "h2's dynamic table stays empty");
        // SETTINGS and DATA frames are untouched, in order.
        let kinds: Vec<u8> = frames.iter().map(|f| f.0).collect();
        assert_eq!(kinds, vec![0x4, HEADERS, 0x0, HEADERS, 0x0]);
        assert_eq!(frames[0].3, vec![0, 3, 0, 0, 0, 0]);
        assert_eq!((frames[2].1, frames[2].2), (END_STREAM, 1));
        assert_eq!(frames[4].3, b"\0\0\0\0\0");
    }
}

#[test]
fn h2fix_keeps_a_valid_authority_but_still_reencodes() {
    let input = connection(&[first_block(b"localhost:8080", true), SECOND_BLOCK.to_vec()]);
    let (out, r) = rewrite_all(&input);
    assert_eq!(r.rewrites(), 0);
    let mut h2 = Decoder::new(4096);
    let blocks = h2_view(&parse_frames(&out), &mut h2);
    assert_eq!(
        blocks,
        vec![expected("localhost:8080"), expected("localhost:8080")]
    );
    assert_eq!(h2.table_size(), 0);
}

#[test]
fn h2fix_headers_continuation_padded_priority() {
    let block = first_block(b"%2Fabs%2Fpath.sock", false);
    let (a, rest) = block.split_at(10);
    let (b, c) = rest.split_at(20);
    let mut payload = vec![7u8]; // pad length
    payload.extend_from_slice(&[0x80, 0, 0, 3, 15]); // exclusive, depends on 3, weight 15
    payload.extend_from_slice(a);
    payload.extend_from_slice(&[0; 7]);
    let mut input = PREFACE.to_vec();
    input.extend(frame(HEADERS, PADDED | PRIORITY | END_STREAM, 5, &payload));
    input.extend(frame(CONTINUATION, 0, 5, b));
    input.extend(frame(CONTINUATION, END_HEADERS, 5, c));
    let (out, r) = rewrite_all(&input);
    assert_eq!(r.rewrites(), 1);
    let frames = parse_frames(&out);
    assert_eq!(frames.len(), 1);
    let (kind, flags, stream, payload) = &frames[0];
    assert_eq!(
        (*kind, *flags, *stream),
        (HEADERS, PRIORITY | END_STREAM | END_HEADERS, 5)
    );
    assert_eq!(&payload[..5], &[0x80, 0, 0, 3, 15]);
    let blocks = h2_view(&frames, &mut Decoder::new(4096));
    assert_eq!(blocks, vec![expected("localhost")]);
}

#[test]
fn h2fix_splits_large_blocks_at_the_max_frame_size() {
    // One 100-byte header inserted once, then referenced 320 times (one byte each): the
    // re-encoded block (literals only) is about 34 KiB, three frames.
    let mut block = first_block(b"a%2Fb", false);
    block.push(0x40);
    block.extend(string(b"x-big", false));
    block.extend(string(&[b'v'; 100], false));
    block.extend([0xbe; 320]);
    let input = connection(&[block]);
    let (out, _) = rewrite_all(&input);
    let frames = parse_frames(&out);
    let kinds: Vec<(u8, u8)> = frames.iter().map(|f| (f.0, f.1)).collect();
    assert_eq!(
        kinds,
        vec![
            (0x4, 0),
            (HEADERS, 0),
            (CONTINUATION, 0),
            (CONTINUATION, END_HEADERS),
            (0x0, END_STREAM)
        ]
    );
    let blocks = h2_view(&frames, &mut Decoder::new(4096));
    assert_eq!(blocks[0].len(), 328);
    assert_eq!(blocks[0][327], ("x-big".into(), "v".repeat(100)));
    assert_eq!(blocks[0][3], (":authority".into(), "localhost".into()));
}

#[test]
fn h2fix_byte_at_a_time_matches_one_shot() {
    let input = connection(&[
        first_block(b"tmp%2Fagent.sock", true),
        SECOND_BLOCK.to_vec(),
    ]);
    let (whole, _) = rewrite_all(&input);
    let mut r = Rewriter::new();
    let mut out = Vec::new();
    for b in &input {
        r.feed(std::slice::from_ref(b), &mut out);
    }
    r.finish(&mut out);
    assert_eq!(out, whole);
}

/// Yields one byte per read, returning `Pending` (and waking) in between.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    pending: bool,
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.pending = !self.pending;
        if self.pending {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if let Some(&b) = self.data.get(self.pos) {
            buf.put_slice(&[b]);
            self.pos += 1;
        }
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn h2fix_adapter_reads_byte_at_a_time() {
    let input = connection(&[
        first_block(b"tmp%2Fagent.sock", false),
        SECOND_BLOCK.to_vec(),
    ]);
    let (whole, _) = rewrite_all(&input);
    let mut io = AuthorityRewrite::new(Trickle {
        data: input,
        pos: 0,
        pending: false,
    });
    let mut got = Vec::new();
    io.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, whole);
    assert_eq!(io.rewrites(), 2);
    assert_eq!(io.get_ref().pos, io.get_ref().data.len());
}

#[test]
fn h2fix_passes_other_frames_through_at_once() {
    let mut input = PREFACE.to_vec();
    input.extend(frame(0x4, 0, 0, &[0, 4, 0, 1, 0, 0])); // SETTINGS
    input.extend(frame(0x6, 0, 0, b"pingping")); // PING
    input.extend(frame(0x8, 0, 0, &[0, 1, 0, 0])); // WINDOW_UPDATE
    input.extend(frame(0x2, 0, 3, &[0, 0, 0, 1, 9])); // PRIORITY
    input.extend(frame(0x3, 0, 3, &[0, 0, 0, 8])); // RST_STREAM
    input.extend(frame(0xbb, 0xff, 7, b"unknown")); // unknown type
    input.extend(frame(0x7, 0, 0, &[0, 0, 0, 0, 0, 0, 0, 0])); // GOAWAY
    let mut r = Rewriter::new();
    let mut out = Vec::new();
    r.feed(&input, &mut out);
    assert_eq!(out, input);
    assert!(!r.is_raw(), "still parsing frames");
    // A DATA frame's bytes are forwarded as they arrive, before the frame is complete.
    let mut r = Rewriter::new();
    let mut out = Vec::new();
    let data = frame(0x0, 0, 1, &[42; 1000]);
    r.feed(PREFACE, &mut out);
    r.feed(&data[..500], &mut out);
    assert_eq!(&out[PREFACE.len()..], &data[..500]);
}

#[test]
fn h2fix_undecodable_or_malformed_input_passes_through_unchanged() {
    let cases: Vec<Vec<u8>> = vec![
        // Index 0 is invalid HPACK; the next (valid) block passes through too.
        connection(&[vec![0x80], first_block(b"a%2Fb", false)]),
        // A bad index in the second block, after a good one was rewritten.
        connection(&[first_block(b"a%2Fb", false), vec![0x82, 0xff, 0x7f]]),
        // Not HTTP/2.
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        // Padding longer than the payload.
        [
            PREFACE.to_vec(),
            frame(HEADERS, PADDED | END_HEADERS, 1, &[9, 0x82]),
        ]
        .concat(),
        // A block interrupted by another frame.
        [
            PREFACE.to_vec(),
            frame(HEADERS, 0, 1, &[0x82]),
            frame(0x0, 0, 1, b"x"),
        ]
        .concat(),
        // Truncated connection in the middle of a HEADERS frame.
        [
            PREFACE.to_vec(),
            frame(HEADERS, END_HEADERS, 1, &[0x82, 0x86])[..10].to_vec(),
        ]
        .concat(),
    ];
    for (i, input) in cases.iter().enumerate() {
        let (out, r) = rewrite_all(input);
        if i == 1 {
            // The first block was rewritten; from the bad block on, bytes are the original.
            let tail = frame(HEADERS, END_HEADERS, 3, &[0x82, 0xff, 0x7f]);
            let pos = out.windows(tail.len()).position(|w| w == tail.as_slice());
            assert!(pos.is_some(), "bad block passed through unchanged");
            assert!(out.ends_with(&frame(0x0, END_STREAM, 3, b"\0\0\0\0\0")));
        } else {
            assert_eq!(&out, input, "case {i}");
        }
        assert!(r.is_raw(), "case {i}");
    }
}

#[test]
fn h2fix_oversize_block_passes_through_unchanged() {
    let chunk = vec![0u8; MAX_FRAME_SIZE];
    let mut input = PREFACE.to_vec();
    input.extend(frame(HEADERS, 0, 1, &chunk));
    for _ in 0..(MAX_BLOCK / MAX_FRAME_SIZE) {
        input.extend(frame(CONTINUATION, 0, 1, &chunk));
    }
    input.extend(frame(CONTINUATION, END_HEADERS, 1, &[0x82]));
    let (out, r) = rewrite_all(&input);
    assert_eq!(out, input);
    assert!(r.is_raw());
}
