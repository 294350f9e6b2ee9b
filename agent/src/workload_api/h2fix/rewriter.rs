//! The sans-IO part of the adapter: parses the client→server HTTP/2 byte stream and rewrites
//! header blocks. Bytes in, bytes out; no IO, no clock.

use tracing::{debug, trace};

use super::hpack::{self, Decoder, Field};

/// The client connection preface (RFC 9113 §3.4).
pub(crate) const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Frame header length (RFC 9113 §4.1).
const FRAME_HEADER_LEN: usize = 9;
/// The frame size we emit: the server's SETTINGS_MAX_FRAME_SIZE, which tonic leaves at the
/// protocol default.
pub(crate) const MAX_FRAME_SIZE: usize = 16_384;
/// Largest header block (all HEADERS + CONTINUATION frames, headers included) we buffer;
/// larger blocks pass through unchanged for h2 to judge.
pub(crate) const MAX_BLOCK: usize = 64 * 1024;
/// Largest decoded header list (HPACK sizes) we build; larger ones pass through unchanged.
pub(crate) const MAX_HEADER_LIST: usize = 256 * 1024;
/// The server's SETTINGS_HEADER_TABLE_SIZE (the protocol default; tonic does not change it).
pub(crate) const HEADER_TABLE_SIZE: usize = 4096;
/// What an unparsable `:authority` becomes.
pub(crate) const REPLACEMENT_AUTHORITY: &[u8] = b"localhost";

const TYPE_HEADERS: u8 = 0x1;
const TYPE_CONTINUATION: u8 = 0x9;
const FLAG_END_STREAM: u8 = 0x1;
const FLAG_END_HEADERS: u8 = 0x4;
const FLAG_PADDED: u8 = 0x8;
const FLAG_PRIORITY: u8 = 0x20;

/// Where the parser is in the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Matching the connection preface; `matched` bytes seen so far.
    Preface { matched: usize },
    /// Reading a 9-byte frame header.
    Header,
    /// Forwarding the payload of a frame we do not touch.
    Forward { remaining: usize },
    /// Buffering the payload of a HEADERS or CONTINUATION frame.
    Collect { remaining: usize },
    /// Gave up (malformed input, oversize or undecodable block): everything passes through.
    Raw,
}

/// A header block being gathered.
#[derive(Debug)]
struct Pending {
    /// Every original byte of the block's frames, to pass through unchanged if needed.
    raw: Vec<u8>,
    /// Stream identifier (reserved bit cleared).
    stream_id: u32,
    /// END_STREAM from the HEADERS frame.
    end_stream: bool,
    /// The 5 priority bytes, when the HEADERS frame had the PRIORITY flag.
    priority: Option<[u8; 5]>,
    /// The header block fragments, padding removed.
    fragment: Vec<u8>,
}

/// Parses and rewrites the client side of one HTTP/2 connection.
#[derive(Debug)]
pub(crate) struct Rewriter {
    state: State,
    head: [u8; FRAME_HEADER_LEN],
    head_len: usize,
    /// Type and flags of the frame being collected.
    frame_type: u8,
    frame_flags: u8,
    /// Payload of the HEADERS/CONTINUATION frame being collected.
    payload: Vec<u8>,
    pending: Option<Pending>,
    decoder: Decoder,
    /// Whether the dynamic-table-size-0 update has been emitted.
    reset_sent: bool,
    /// How many `:authority` values were replaced.
    rewrites: u64,
}

impl Default for Rewriter {
    fn default() -> Self {
        Self::new()
    }
}

/// Splits up to `n` bytes off the front of `input`.
fn take<'a>(input: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (front, back) = input
        .split_at_checked(n.min(input.len()))
        .unwrap_or((input, &[]));
    *input = back;
    front
}

impl Rewriter {
    /// A parser expecting the connection preface.
    pub(crate) fn new() -> Self {
        Self {
            state: State::Preface { matched: 0 },
            head: [0; FRAME_HEADER_LEN],
            head_len: 0,
            frame_type: 0,
            frame_flags: 0,
            payload: Vec::new(),
            pending: None,
            decoder: Decoder::new(HEADER_TABLE_SIZE),
            reset_sent: false,
            rewrites: 0,
        }
    }

    /// How many `:authority` values have been replaced so far.
    pub(crate) fn rewrites(&self) -> u64 {
        self.rewrites
    }

    /// Whether the parser gave up and passes everything through.
    pub(crate) fn is_raw(&self) -> bool {
        self.state == State::Raw
    }

    /// Consumes `input`, appending what should be forwarded to `out`. Bytes of frames we do not
    /// rewrite are forwarded at once; a header block is held until it is complete.
    pub(crate) fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while !input.is_empty() {
            match self.state {
                State::Raw => {
                    out.extend_from_slice(input);
                    return;
                }
                State::Preface { matched } => {
                    let expected = PREFACE.get(matched..).unwrap_or_default();
                    let chunk = take(&mut input, expected.len());
                    out.extend_from_slice(chunk);
                    if expected.starts_with(chunk) {
                        let matched = matched + chunk.len();
                        self.state = if matched == PREFACE.len() {
                            State::Header
                        } else {
                            State::Preface { matched }
                        };
                    } else {
                        debug!("h2fix: no HTTP/2 preface, passing the connection through");
                        self.state = State::Raw;
                    }
                }
                State::Header => {
                    let chunk = take(&mut input, FRAME_HEADER_LEN - self.head_len);
                    let end = self.head_len + chunk.len();
                    if let Some(dst) = self.head.get_mut(self.head_len..end) {
                        dst.copy_from_slice(chunk);
                    }
                    self.head_len = end;
                    if self.head_len == FRAME_HEADER_LEN {
                        self.head_len = 0;
                        self.on_frame_header(out);
                    }
                }
                State::Forward { remaining } => {
                    let chunk = take(&mut input, remaining);
                    out.extend_from_slice(chunk);
                    self.state = Self::forward(remaining - chunk.len());
                }
                State::Collect { remaining } => {
                    let chunk = take(&mut input, remaining);
                    self.payload.extend_from_slice(chunk);
                    if let Some(p) = self.pending.as_mut() {
                        p.raw.extend_from_slice(chunk);
                    }
                    let remaining = remaining - chunk.len();
                    self.state = State::Collect { remaining };
                    if remaining == 0 {
                        self.on_frame_complete(out);
                    }
                }
            }
        }
    }

    /// The input ended: forward whatever is still held, unchanged.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        if let Some(p) = self.pending.take() {
            out.extend_from_slice(&p.raw);
        }
        out.extend_from_slice(self.head.get(..self.head_len).unwrap_or_default());
        self.head_len = 0;
        self.state = State::Raw;
    }

    /// The state for forwarding `remaining` more payload bytes.
    fn forward(remaining: usize) -> State {
        if remaining == 0 {
            State::Header
        } else {
            State::Forward { remaining }
        }
    }

    /// Passes the held block and the current frame header through and stops rewriting.
    fn give_up(&mut self, out: &mut Vec<u8>, why: &str) {
        debug!("h2fix: {why}; passing the connection through unchanged");
        if let Some(p) = self.pending.take() {
            out.extend_from_slice(&p.raw);
        }
        out.extend_from_slice(&self.head);
        self.state = State::Raw;
    }

    fn on_frame_header(&mut self, out: &mut Vec<u8>) {
        let [l0, l1, l2, frame_type, flags, s0, s1, s2, s3] = self.head;
        let length = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
        let stream_id = u32::from_be_bytes([s0 & 0x7f, s1, s2, s3]);
        let is_header_frame = frame_type == TYPE_HEADERS || frame_type == TYPE_CONTINUATION;
        match &self.pending {
            Some(p) if frame_type != TYPE_CONTINUATION || stream_id != p.stream_id => {
                return self.give_up(out, "header block interrupted");
            }
            Some(p) if p.raw.len() + FRAME_HEADER_LEN + length > MAX_BLOCK => {
                return self.give_up(out, "header block too large");
            }
            Some(_) => {}
            None if frame_type == TYPE_CONTINUATION => {
                return self.give_up(out, "CONTINUATION without HEADERS");
            }
            None if frame_type == TYPE_HEADERS => {
                self.pending = Some(Pending {
                    raw: Vec::new(),
                    stream_id,
                    end_stream: flags & FLAG_END_STREAM != 0,
                    priority: None,
                    fragment: Vec::new(),
                });
            }
            None => {
                out.extend_from_slice(&self.head);
                self.state = Self::forward(length);
                return;
            }
        }
        if is_header_frame && length > MAX_FRAME_SIZE {
            return self.give_up(out, "header frame above the max frame size");
        }
        if let Some(p) = self.pending.as_mut() {
            p.raw.extend_from_slice(&self.head);
        }
        self.frame_type = frame_type;
        self.frame_flags = flags;
        self.payload.clear();
        self.state = State::Collect { remaining: length };
        if length == 0 {
            self.on_frame_complete(out);
        }
    }

    fn on_frame_complete(&mut self, out: &mut Vec<u8>) {
        let payload = std::mem::take(&mut self.payload);
        let flags = self.frame_flags;
        let Some(p) = self.pending.as_mut() else {
            self.state = State::Header;
            return;
        };
        let fragment = if self.frame_type == TYPE_HEADERS {
            let mut start = 0usize;
            let mut pad = 0usize;
            if flags & FLAG_PADDED != 0 {
                pad = payload.first().map_or(usize::MAX, |&b| usize::from(b));
                start = 1;
            }
            if flags & FLAG_PRIORITY != 0 {
                p.priority = payload
                    .get(start..start + 5)
                    .and_then(|b| <[u8; 5]>::try_from(b).ok());
                if p.priority.is_none() {
                    return self.give_up_payload(out);
                }
                start += 5;
            }
            let end = payload.len().checked_sub(pad);
            match end.and_then(|end| payload.get(start..end)) {
                Some(f) => f,
                None => return self.give_up_payload(out),
            }
        } else {
            payload.as_slice()
        };
        p.fragment.extend_from_slice(fragment);
        self.state = State::Header;
        if flags & FLAG_END_HEADERS != 0 {
            self.finish_block(out);
        }
    }

    /// Malformed HEADERS payload: everything held (headers and payload) goes out unchanged.
    fn give_up_payload(&mut self, out: &mut Vec<u8>) {
        debug!("h2fix: malformed HEADERS padding/priority; passing the connection through");
        if let Some(p) = self.pending.take() {
            out.extend_from_slice(&p.raw);
        }
        self.state = State::Raw;
    }

    fn finish_block(&mut self, out: &mut Vec<u8>) {
        let Some(p) = self.pending.take() else {
            return;
        };
        let mut fields = match self.decoder.decode(&p.fragment, MAX_HEADER_LIST) {
            Ok(fields) => fields,
            Err(e) => {
                debug!(error = ?e, "h2fix: undecodable header block; passing the connection through");
                out.extend_from_slice(&p.raw);
                self.state = State::Raw;
                return;
            }
        };
        self.rewrites += fix_authority(&mut fields);
        let mut payload = Vec::with_capacity(p.fragment.len() + 64);
        if let Some(priority) = p.priority {
            payload.extend_from_slice(&priority);
        }
        hpack::encode_without_indexing(&fields, !self.reset_sent, &mut payload);
        self.reset_sent = true;
        emit_frames(&p, &payload, out);
    }
}

/// Replaces every `:authority` the `http` crate cannot parse; returns how many were replaced.
pub(crate) fn fix_authority(fields: &mut [Field]) -> u64 {
    let mut replaced = 0;
    for field in fields.iter_mut().filter(|f| f.name == b":authority") {
        if http::uri::Authority::try_from(field.value.as_slice()).is_err() {
            trace!(
                authority = %String::from_utf8_lossy(&field.value),
                "h2fix: replacing an unparsable :authority"
            );
            field.value = REPLACEMENT_AUTHORITY.to_vec();
            replaced += 1;
        }
    }
    replaced
}

/// Writes `payload` as one HEADERS frame and as many CONTINUATION frames as needed.
fn emit_frames(p: &Pending, payload: &[u8], out: &mut Vec<u8>) {
    let mut chunks: Vec<&[u8]> = payload.chunks(MAX_FRAME_SIZE).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let count = chunks.len();
    for (i, chunk) in chunks.into_iter().enumerate() {
        let (frame_type, mut flags) = if i == 0 {
            let mut flags = if p.end_stream { FLAG_END_STREAM } else { 0 };
            if p.priority.is_some() {
                flags |= FLAG_PRIORITY;
            }
            (TYPE_HEADERS, flags)
        } else {
            (TYPE_CONTINUATION, 0)
        };
        if i + 1 == count {
            flags |= FLAG_END_HEADERS;
        }
        let len = u32::try_from(chunk.len()).unwrap_or(0).to_be_bytes();
        out.extend_from_slice(&[len[1], len[2], len[3], frame_type, flags]);
        out.extend_from_slice(&p.stream_id.to_be_bytes());
        out.extend_from_slice(chunk);
    }
}
