//! HPACK tests against the RFC 7541 Appendix C examples.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::hpack::{self, Decoder, Field, HpackError, decode_integer, encode_integer};
use super::huffman;

/// Hex (whitespace ignored) to bytes.
fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

fn pairs(fields: &[Field]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|f| {
            (
                String::from_utf8(f.name.clone()).unwrap(),
                String::from_utf8(f.value.clone()).unwrap(),
            )
        })
        .collect()
}

fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn h2fix_integers_c1() {
    // C.1.1: 10 with a 5-bit prefix; C.1.2: 1337 with a 5-bit prefix; C.1.3: 42, 8-bit prefix.
    for (bytes, prefix, value) in [
        (vec![0x0a], 5, 10),
        (vec![0x1f, 0x9a, 0x0a], 5, 1337),
        (vec![0x2a], 8, 42),
    ] {
        let mut pos = 0;
        assert_eq!(decode_integer(&bytes, &mut pos, prefix).unwrap(), value);
        assert_eq!(pos, bytes.len());
        let mut out = Vec::new();
        encode_integer(&mut out, 0, prefix, value as usize);
        assert_eq!(out, bytes);
    }
    // Truncated and overlong integers are errors, not panics.
    let mut pos = 0;
    assert_eq!(
        decode_integer(&[0x1f, 0x9a], &mut pos, 5),
        Err(HpackError::Truncated)
    );
    let mut pos = 0;
    assert_eq!(
        decode_integer(
            &[0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
            &mut pos,
            5
        ),
        Err(HpackError::IntegerOverflow)
    );
}

#[test]
fn h2fix_literals_c2() {
    let mut d = Decoder::new(4096);
    // C.2.1 literal with indexing.
    let f = d
        .decode(
            &hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"),
            1 << 20,
        )
        .unwrap();
    assert_eq!(pairs(&f), owned(&[("custom-key", "custom-header")]));
    assert_eq!(d.table_size(), 55);
    // C.2.2 literal without indexing: the table is unchanged.
    let mut d = Decoder::new(4096);
    let f = d
        .decode(&hex("040c 2f73 616d 706c 652f 7061 7468"), 1 << 20)
        .unwrap();
    assert_eq!(pairs(&f), owned(&[(":path", "/sample/path")]));
    assert_eq!(d.table_size(), 0);
    // C.2.3 never indexed.
    let f = d
        .decode(&hex("1008 7061 7373 776f 7264 0673 6563 7265 74"), 1 << 20)
        .unwrap();
    assert_eq!(pairs(&f), owned(&[("password", "secret")]));
    assert!(f[0].never_indexed);
    assert_eq!(d.table_size(), 0);
    // C.2.4 indexed.
    let f = d.decode(&hex("82"), 1 << 20).unwrap();
    assert_eq!(pairs(&f), owned(&[(":method", "GET")]));
}

/// C.3 (plain) and C.4 (Huffman) encode the same three requests.
fn requests(blocks: [&str; 3]) {
    let mut d = Decoder::new(4096);
    let base = [(":method", "GET"), (":scheme", "http"), (":path", "/")];
    let f = d.decode(&hex(blocks[0]), 1 << 20).unwrap();
    let mut want = base.to_vec();
    want.push((":authority", "www.example.com"));
    assert_eq!(pairs(&f), owned(&want));
    assert_eq!(d.table_size(), 57);

    let f = d.decode(&hex(blocks[1]), 1 << 20).unwrap();
    want.push(("cache-control", "no-cache"));
    assert_eq!(pairs(&f), owned(&want));
    assert_eq!(d.table_size(), 110);

    let f = d.decode(&hex(blocks[2]), 1 << 20).unwrap();
    let want = [
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "/index.html"),
        (":authority", "www.example.com"),
        ("custom-key", "custom-value"),
    ];
    assert_eq!(pairs(&f), owned(&want));
    assert_eq!(d.table_size(), 164);
    assert_eq!(
        d.table(),
        owned(&[
            ("custom-key", "custom-value"),
            ("cache-control", "no-cache"),
            (":authority", "www.example.com"),
        ])
    );
}

#[test]
fn h2fix_requests_without_huffman_c3() {
    requests([
        "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        "8286 84be 5808 6e6f 2d63 6163 6865",
        "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
    ]);
}

#[test]
fn h2fix_requests_with_huffman_c4() {
    requests([
        "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
        "8286 84be 5886 a8eb 1064 9cbf",
        "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    ]);
}

/// C.5 (plain) and C.6 (Huffman): three responses with a 256-byte table, exercising eviction.
fn responses(blocks: [&str; 3]) {
    let mut d = Decoder::new(256);
    let f = d.decode(&hex(blocks[0]), 1 << 20).unwrap();
    let date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
    let loc = "https://www.example.com";
    assert_eq!(
        pairs(&f),
        owned(&[
            (":status", "302"),
            ("cache-control", "private"),
            ("date", date1),
            ("location", loc),
        ])
    );
    assert_eq!(d.table_size(), 222);

    // ":status: 307" evicts ":status: 302".
    let f = d.decode(&hex(blocks[1]), 1 << 20).unwrap();
    assert_eq!(
        pairs(&f),
        owned(&[
            (":status", "307"),
            ("cache-control", "private"),
            ("date", date1),
            ("location", loc),
        ])
    );
    assert_eq!(d.table_size(), 222);
    assert_eq!(
        d.table(),
        owned(&[
            (":status", "307"),
            ("location", loc),
            ("date", date1),
            ("cache-control", "private"),
        ])
    );

    let f = d.decode(&hex(blocks[2]), 1 << 20).unwrap();
    let cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
    assert_eq!(
        pairs(&f),
        owned(&[
            (":status", "200"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
            ("location", loc),
            ("content-encoding", "gzip"),
            ("set-cookie", cookie),
        ])
    );
    assert_eq!(d.table_size(), 215);
    assert_eq!(
        d.table(),
        owned(&[
            ("set-cookie", cookie),
            ("content-encoding", "gzip"),
            ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
        ])
    );
}

#[test]
fn h2fix_responses_without_huffman_c5() {
    responses([
        "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
         2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
         6c65 2e63 6f6d",
        "4803 3330 37c1 c0bf",
        "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
         54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
         5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
         3d31",
    ]);
}

#[test]
fn h2fix_responses_with_huffman_c6() {
    responses([
        "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
         2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
        "4883 640e ffc1 c0bf",
        "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
         77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
         9587 3160 65c0 03ed 4ee5 b106 3d50 07",
    ]);
}

#[test]
fn h2fix_huffman_round_trips_every_symbol_and_rejects_bad_padding() {
    // The code is complete and prefix-free: every byte value round-trips.
    let all: Vec<u8> = (0..=255).collect();
    let mut out = Vec::new();
    huffman::decode(&huffman::encode(&all), &mut out).unwrap();
    assert_eq!(out, all);
    let kraft: f64 = huffman::codes()
        .iter()
        .map(|&(_, len)| 0.5f64.powi(i32::from(len)))
        .sum();
    assert!((kraft - 1.0).abs() < 1e-12);
    // "a" is 00011: padded with ones is fine, with zeros is not, a full byte of padding is not.
    let mut out = Vec::new();
    assert!(huffman::decode(&[0b0001_1111], &mut out).is_ok());
    assert_eq!(out, b"a");
    assert!(huffman::decode(&[0b0001_1000], &mut Vec::new()).is_err());
    assert!(huffman::decode(&[0b0001_1111, 0xff], &mut Vec::new()).is_err());
    // EOS (30 ones) inside the data is an error.
    assert!(huffman::decode(&[0xff, 0xff, 0xff, 0xfc], &mut Vec::new()).is_err());
}

#[test]
fn h2fix_dynamic_table_eviction_and_size_updates() {
    let mut d = Decoder::new(100);
    // "a: 1" (34 bytes), "bb: 22" (36), then "ccc: 333" (38): 108 > 100 evicts "a".
    let block = hex("4001 6101 31 4002 6262 0232 32 4003 6363 6303 3333 33");
    let f = d.decode(&block, 1 << 20).unwrap();
    assert_eq!(f.len(), 3);
    assert_eq!(d.table(), owned(&[("ccc", "333"), ("bb", "22")]));
    assert_eq!(d.table_size(), 74);
    // Index 62 is the newest entry, 63 the next; 64 was evicted.
    assert_eq!(
        pairs(&d.decode(&hex("be bf"), 1 << 20).unwrap()),
        owned(&[("ccc", "333"), ("bb", "22")])
    );
    assert_eq!(d.decode(&hex("c0"), 1 << 20), Err(HpackError::BadIndex));
    // A size update to 36 evicts both entries (38 + 36 > 36); above the limit is an error.
    d.decode(&hex("3f05"), 1 << 20).unwrap(); // 31 + 5 = 36
    assert_eq!(d.table(), Vec::<(String, String)>::new());
    assert_eq!(
        d.decode(&hex("3f4e"), 1 << 20),
        Err(HpackError::BadSizeUpdate)
    ); // 109
    // A size update after a field is an error.
    assert_eq!(
        d.decode(&hex("82 20"), 1 << 20),
        Err(HpackError::BadSizeUpdate)
    );
    // An entry larger than the table empties it.
    let mut d = Decoder::new(40);
    d.decode(&hex("4001 6101 31"), 1 << 20).unwrap();
    assert_eq!(d.table_size(), 34);
    d.decode(&hex("4001 6209 3132 3334 3536 3738 39"), 1 << 20)
        .unwrap();
    assert_eq!(d.table_size(), 0);
}

#[test]
fn h2fix_decode_errors_and_list_limit() {
    let mut d = Decoder::new(4096);
    assert_eq!(d.decode(&hex("80"), 1 << 20), Err(HpackError::BadIndex));
    assert_eq!(d.decode(&hex("be"), 1 << 20), Err(HpackError::BadIndex));
    assert_eq!(
        d.decode(&hex("400a 6375"), 1 << 20),
        Err(HpackError::Truncated)
    );
    assert!(matches!(
        d.decode(&hex("0481 00"), 1 << 20),
        Err(HpackError::Huffman(_))
    ));
    // ":method: GET" is 32 + 7 + 3 = 42 bytes: two of them exceed a limit of 80.
    assert_eq!(d.decode(&hex("82 82"), 80), Err(HpackError::ListTooLarge));
}

#[test]
fn h2fix_encoder_round_trips_without_touching_the_table() {
    let fields = vec![
        Field {
            name: b":authority".to_vec(),
            value: b"localhost".to_vec(),
            never_indexed: false,
        },
        Field {
            name: b"x-custom".to_vec(),
            value: vec![b'v'; 300],
            never_indexed: false,
        },
        Field {
            name: b"authorization".to_vec(),
            value: b"secret".to_vec(),
            never_indexed: true,
        },
    ];
    let mut block = Vec::new();
    hpack::encode_without_indexing(&fields, true, &mut block);
    assert_eq!(block.first(), Some(&0x20), "starts with a size update to 0");
    let mut d = Decoder::new(4096);
    assert_eq!(d.decode(&block, 1 << 20).unwrap(), fields);
    assert_eq!(d.table_size(), 0);
}
