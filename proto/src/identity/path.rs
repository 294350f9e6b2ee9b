//! The path rules of a SPIFFE ID (SPIFFE-ID standard §2.2).

use super::error::IdError;

/// Validates a path found at byte `base` of the parsed text: empty, or `/seg(/seg)*`.
pub(crate) fn validate_path(path: &str, base: usize) -> Result<(), IdError> {
    if path.is_empty() {
        return Ok(());
    }
    let Some(mut rest) = path.strip_prefix('/') else {
        return Err(IdError::PathMissingLeadingSlash);
    };
    // Offset of the '/' that opens the current segment.
    let mut slash = base;
    loop {
        let (segment, next) = match rest.split_once('/') {
            Some((segment, next)) => (segment, Some(next)),
            None => (rest, None),
        };
        if segment.is_empty() {
            return Err(match next {
                None => IdError::TrailingSlash,
                Some(_) => IdError::EmptySegment { offset: slash },
            });
        }
        validate_segment(segment, slash + 1)?;
        match next {
            Some(next) => {
                slash += segment.len() + 1;
                rest = next;
            }
            None => return Ok(()),
        }
    }
}

/// Validates one non-empty segment found at byte `base`.
fn validate_segment(segment: &str, base: usize) -> Result<(), IdError> {
    if segment == "." || segment == ".." {
        return Err(IdError::DotSegment {
            segment: if segment == "." { "." } else { ".." },
            offset: base,
        });
    }
    for (i, ch) in segment.char_indices() {
        let offset = base + i;
        match ch {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => {}
            '%' => return Err(IdError::PercentEncoded { offset }),
            '?' => return Err(IdError::QueryNotAllowed { offset }),
            '#' => return Err(IdError::FragmentNotAllowed { offset }),
            _ => return Err(IdError::BadPathChar { ch, offset }),
        }
    }
    Ok(())
}

/// Validates a segment given on its own (offsets relative to it).
pub(crate) fn validate_lone_segment(segment: &str) -> Result<(), IdError> {
    if segment.is_empty() {
        return Err(IdError::EmptySegment { offset: 0 });
    }
    validate_segment(segment, 0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn is_path_char(c: char) -> bool {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
    }

    #[test]
    fn accepts_valid_paths() {
        for path in [
            "",
            "/a",
            "/ns/prod/sa/web",
            "/A-Z_a-z.0-9",
            "/.a",
            "/..a",
            "/...",
            "/a.",
            "/a/b/c/d/e/f",
        ] {
            assert_eq!(validate_path(path, 0), Ok(()), "{path:?}");
        }
    }

    #[test]
    fn rejects_each_rule_with_offsets() {
        #[rustfmt::skip]
        let cases: &[(&str, IdError)] = &[
            ("a", IdError::PathMissingLeadingSlash),
            ("/", IdError::TrailingSlash),
            ("/a/", IdError::TrailingSlash),
            ("//", IdError::EmptySegment { offset: 0 }),
            ("//a", IdError::EmptySegment { offset: 0 }),
            ("/a//b", IdError::EmptySegment { offset: 2 }),
            ("/.", IdError::DotSegment { segment: ".", offset: 1 }),
            ("/..", IdError::DotSegment { segment: "..", offset: 1 }),
            ("/./a", IdError::DotSegment { segment: ".", offset: 1 }),
            ("/a/../b", IdError::DotSegment { segment: "..", offset: 3 }),
            ("/a/.", IdError::DotSegment { segment: ".", offset: 3 }),
            ("/a%20b", IdError::PercentEncoded { offset: 2 }),
            ("/%62%61%64", IdError::PercentEncoded { offset: 1 }),
            ("/a?b", IdError::QueryNotAllowed { offset: 2 }),
            ("/a#b", IdError::FragmentNotAllowed { offset: 2 }),
            ("/pa:th", IdError::BadPathChar { ch: ':', offset: 3 }),
            ("/pa@th", IdError::BadPathChar { ch: '@', offset: 3 }),
            ("/x/a b", IdError::BadPathChar { ch: ' ', offset: 4 }),
            ("/é", IdError::BadPathChar { ch: 'é', offset: 1 }),
            ("/a/b$", IdError::BadPathChar { ch: '$', offset: 4 }),
        ];
        for (path, expected) in cases {
            assert_eq!(&validate_path(path, 0).unwrap_err(), expected, "{path:?}");
        }
    }

    #[test]
    fn offsets_are_shifted_by_base() {
        assert_eq!(
            validate_path("/a//b", 20),
            Err(IdError::EmptySegment { offset: 22 })
        );
        assert_eq!(
            validate_path("/a/$", 20),
            Err(IdError::BadPathChar {
                ch: '$',
                offset: 23
            })
        );
    }

    #[test]
    fn every_char_below_256_in_a_segment() {
        for i in 0u32..256 {
            let c = char::from_u32(i).unwrap();
            if c == '/' {
                continue; // the separator, covered above
            }
            let path = format!("/path{c}");
            let got = validate_path(&path, 0);
            if is_path_char(c) {
                assert_eq!(got, Ok(()), "char {i:#x}");
            } else {
                let expected = match c {
                    '%' => IdError::PercentEncoded { offset: 5 },
                    '?' => IdError::QueryNotAllowed { offset: 5 },
                    '#' => IdError::FragmentNotAllowed { offset: 5 },
                    _ => IdError::BadPathChar { ch: c, offset: 5 },
                };
                assert_eq!(got, Err(expected), "char {i:#x}");
            }
        }
    }

    #[test]
    fn lone_segments() {
        assert_eq!(validate_lone_segment("ok-1"), Ok(()));
        assert_eq!(
            validate_lone_segment(""),
            Err(IdError::EmptySegment { offset: 0 })
        );
        assert_eq!(
            validate_lone_segment("/a"),
            Err(IdError::BadPathChar { ch: '/', offset: 0 })
        );
        assert_eq!(
            validate_lone_segment("a/b"),
            Err(IdError::BadPathChar { ch: '/', offset: 1 })
        );
        assert_eq!(
            validate_lone_segment(".."),
            Err(IdError::DotSegment {
                segment: "..",
                offset: 0
            })
        );
    }
}
