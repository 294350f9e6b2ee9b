//! The duration syntax of config files: `"24h"`, `"5m"`, `"90s"`, `"1h30m"`, `"500ms"`, `"2d"`.
//!
//! Grammar: one or more `<digits><unit>` terms, units `d`, `h`, `m`, `s`, `ms`, each used at
//! most once and largest first (`1h30m`, not `30m1h` or `1h1h`). No sign, no fraction, no
//! whitespace anywhere, no bare number (not even `0`). [`format_duration`] writes the canonical
//! form that [`parse_duration`] reads back; use [`serde_str`] on `Duration` config fields.

use std::time::Duration;

use thiserror::Error;

/// Why a duration string was rejected. `offset` is a byte offset into the input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DurationError {
    /// The input is empty.
    #[error("duration is empty (write e.g. \"30s\", \"5m\", \"1h30m\")")]
    Empty,

    /// The input starts with `-`: durations cannot be negative.
    #[error("duration cannot be negative")]
    Negative,

    /// Whitespace in the input (leading, trailing or inside).
    #[error("whitespace at byte {offset} is not allowed in a duration")]
    Whitespace {
        /// Byte offset of the whitespace character.
        offset: usize,
    },

    /// A unit with no number before it (`"h"`, `"ms"`).
    #[error("expected a number at byte {offset}")]
    MissingNumber {
        /// Byte offset where the number should start.
        offset: usize,
    },

    /// A number with no unit after it (`"30"`, `"1h30"`).
    #[error("number at byte {offset} has no unit (use ms, s, m, h or d)")]
    MissingUnit {
        /// Byte offset of the number's first digit.
        offset: usize,
    },

    /// A unit other than `ms`, `s`, `m`, `h`, `d`.
    #[error("unknown duration unit {unit:?} at byte {offset} (use ms, s, m, h or d)")]
    UnknownUnit {
        /// The unit as written (truncated to 16 bytes).
        unit: String,
        /// Byte offset of the unit.
        offset: usize,
    },

    /// A unit repeated or after a smaller one (`"30m1h"`, `"1h1h"`).
    #[error(
        "unit {unit:?} at byte {offset} is repeated or out of order: use each unit once, largest first (d, h, m, s, ms)"
    )]
    UnitOrder {
        /// The unit (`d`, `h`, `m`, `s` or `ms`).
        unit: &'static str,
        /// Byte offset of the unit.
        offset: usize,
    },

    /// A decimal point: fractions are not supported (`"1.5h"`; write `"1h30m"`).
    #[error(
        "fractions are not supported ('.' at byte {offset}); combine units instead, e.g. \"1h30m\""
    )]
    Fraction {
        /// Byte offset of the `.`.
        offset: usize,
    },

    /// Any other character (`"+5m"`, `"5_000ms"`).
    #[error("unexpected character {ch:?} at byte {offset} in a duration")]
    UnexpectedChar {
        /// The character.
        ch: char,
        /// Its byte offset.
        offset: usize,
    },

    /// The value does not fit in a `std::time::Duration`.
    #[error("duration is too large")]
    Overflow,
}

/// Units largest first: (name, milliseconds).
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a config duration such as `"1h30m"` (see the module docs for the grammar).
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    if s.starts_with('-') {
        return Err(DurationError::Negative);
    }
    if let Some((offset, _)) = s.char_indices().find(|(_, c)| c.is_whitespace()) {
        return Err(DurationError::Whitespace { offset });
    }

    let mut total_ms: u128 = 0;
    // Index into UNITS of the last unit used; the next must have a larger index.
    let mut last_unit: Option<usize> = None;
    let mut pos = 0;
    while pos < s.len() {
        let rest = s.get(pos..).unwrap_or_default();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(unexpected(
                rest,
                pos,
                DurationError::MissingNumber { offset: pos },
            ));
        }
        let number_text = rest.get(..digits).unwrap_or_default();
        let number: u64 = number_text.parse().map_err(|_| DurationError::Overflow)?;
        let number_at = pos;
        pos += digits;

        let rest = s.get(pos..).unwrap_or_default();
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        if letters == 0 {
            return Err(match rest.chars().next() {
                None => DurationError::MissingUnit { offset: number_at },
                Some(_) => unexpected(rest, pos, DurationError::MissingUnit { offset: number_at }),
            });
        }
        let unit_text = rest.get(..letters).unwrap_or_default();
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit_text) else {
            return Err(DurationError::UnknownUnit {
                unit: unit_text.chars().take(16).collect(),
                offset: pos,
            });
        };
        let (unit, unit_ms) = UNITS.get(index).copied().unwrap_or(("ms", 1));
        if last_unit.is_some_and(|last| index <= last) {
            return Err(DurationError::UnitOrder { unit, offset: pos });
        }
        last_unit = Some(index);
        total_ms += u128::from(number) * u128::from(unit_ms);
        pos += letters;
    }

    let secs = u64::try_from(total_ms / 1000).map_err(|_| DurationError::Overflow)?;
    // `total_ms % 1000` < 1000, so the nanoseconds always fit.
    let nanos = u32::try_from(total_ms % 1000).unwrap_or(0) * 1_000_000;
    Ok(Duration::new(secs, nanos))
}

/// The error for a term that does not start where expected: names a `.`, a sign or any other
/// character precisely, falling back to `default`.
fn unexpected(rest: &str, pos: usize, default: DurationError) -> DurationError {
    match rest.chars().next() {
        Some('.') => DurationError::Fraction { offset: pos },
        Some(c) if c.is_ascii_alphabetic() => default,
        Some(ch) => DurationError::UnexpectedChar { ch, offset: pos },
        None => default,
    }
}

/// Formats a duration in the canonical compact form: largest units first, zero parts left out
/// (`"1h30m"`, `"5m"`, `"2d"`, `"1s500ms"`), and `"0s"` for zero. Sub-millisecond precision is
/// dropped (truncated), since config durations are at millisecond resolution.
pub fn format_duration(d: Duration) -> String {
    let mut rest = d.as_millis();
    if rest == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (name, unit_ms) in UNITS {
        let unit_ms = u128::from(unit_ms);
        let count = rest / unit_ms;
        if count > 0 {
            out.push_str(&count.to_string());
            out.push_str(name);
            rest %= unit_ms;
        }
    }
    out
}

/// Serde helpers: `#[serde(with = "tessera_proto::duration::serde_str")]` on a `Duration` field
/// reads strings like `"1h30m"` and writes the canonical form.
pub mod serde_str {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as the canonical string ([`format_duration`](super::format_duration)).
    pub fn serialize<S: Serializer>(d: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_duration(*d))
    }

    /// Deserializes from a duration string ([`parse_duration`](super::parse_duration)).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(deserializer)?;
        super::parse_duration(&s).map_err(serde::de::Error::custom)
    }

    /// The same for `Option<Duration>`:
    /// `#[serde(default, with = "tessera_proto::duration::serde_str::option")]`.
    pub mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        /// Serializes `Some` as the canonical string and `None` as none/null.
        pub fn serialize<S: Serializer>(
            d: &Option<Duration>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => serializer.serialize_some(&super::super::format_duration(*d)),
                None => serializer.serialize_none(),
            }
        }

        /// Deserializes an optional duration string.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Duration>, D::Error> {
            Option::<String>::deserialize(deserializer)?
                .map(|s| super::super::parse_duration(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    const fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn parses_each_unit_and_combinations() {
        let cases: &[(&str, Duration)] = &[
            ("24h", secs(86_400)),
            ("5m", secs(300)),
            ("90s", secs(90)),
            ("1h30m", secs(5_400)),
            ("500ms", Duration::from_millis(500)),
            ("2d", secs(172_800)),
            ("0s", Duration::ZERO),
            ("0ms", Duration::ZERO),
            ("1d2h3m4s5ms", Duration::from_millis(93_784_005)),
            ("1s500ms", Duration::from_millis(1_500)),
            ("007s", secs(7)),
            ("90m", secs(5_400)),
            ("1500ms", Duration::from_millis(1_500)),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_duration(input).unwrap(), *expected, "{input:?}");
        }
    }

    #[test]
    fn rejects_each_rule() {
        #[rustfmt::skip]
        let cases: &[(&str, DurationError)] = &[
            ("", DurationError::Empty),
            ("-5m", DurationError::Negative),
            ("5", DurationError::MissingUnit { offset: 0 }),
            ("0", DurationError::MissingUnit { offset: 0 }),
            ("1h30", DurationError::MissingUnit { offset: 2 }),
            ("h", DurationError::MissingNumber { offset: 0 }),
            ("ms", DurationError::MissingNumber { offset: 0 }),
            ("1hm", DurationError::UnknownUnit { unit: "hm".into(), offset: 1 }),
            ("5w", DurationError::UnknownUnit { unit: "w".into(), offset: 1 }),
            ("5M", DurationError::UnknownUnit { unit: "M".into(), offset: 1 }),
            ("5us", DurationError::UnknownUnit { unit: "us".into(), offset: 1 }),
            ("5sec", DurationError::UnknownUnit { unit: "sec".into(), offset: 1 }),
            ("30m1h", DurationError::UnitOrder { unit: "h", offset: 4 }),
            ("1h1h", DurationError::UnitOrder { unit: "h", offset: 3 }),
            ("1ms1s", DurationError::UnitOrder { unit: "s", offset: 4 }),
            ("1.5h", DurationError::Fraction { offset: 1 }),
            (".5h", DurationError::Fraction { offset: 0 }),
            ("+5m", DurationError::UnexpectedChar { ch: '+', offset: 0 }),
            ("5_000ms", DurationError::UnexpectedChar { ch: '_', offset: 1 }),
            ("5m,", DurationError::UnexpectedChar { ch: ',', offset: 2 }),
            ("5é", DurationError::UnexpectedChar { ch: 'é', offset: 1 }),
            ("1h 30m", DurationError::Whitespace { offset: 2 }),
            (" 5m", DurationError::Whitespace { offset: 0 }),
            ("5m\n", DurationError::Whitespace { offset: 2 }),
            ("5\u{a0}m", DurationError::Whitespace { offset: 1 }),
        ];
        for (input, expected) in cases {
            assert_eq!(&parse_duration(input).unwrap_err(), expected, "{input:?}");
        }
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        // Too many digits for u64.
        assert_eq!(
            parse_duration("99999999999999999999999s").unwrap_err(),
            DurationError::Overflow
        );
        // Fits u64 as a number, but not as seconds once multiplied by the unit.
        assert_eq!(
            parse_duration(&format!("{}d", u64::MAX)).unwrap_err(),
            DurationError::Overflow
        );
        // The largest whole number of seconds still works.
        assert_eq!(
            parse_duration(&format!("{}s", u64::MAX)).unwrap(),
            Duration::from_secs(u64::MAX)
        );
        assert_eq!(
            parse_duration(&format!("{}s999ms", u64::MAX)).unwrap(),
            Duration::new(u64::MAX, 999_000_000)
        );
        assert_eq!(
            parse_duration(&format!("{}s1000ms", u64::MAX)).unwrap_err(),
            DurationError::Overflow
        );
    }

    #[test]
    fn unknown_unit_excerpt_is_bounded() {
        let input = format!("5{}", "x".repeat(100));
        match parse_duration(&input).unwrap_err() {
            DurationError::UnknownUnit { unit, .. } => assert_eq!(unit.len(), 16),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn formats_canonically() {
        let cases: &[(Duration, &str)] = &[
            (Duration::ZERO, "0s"),
            (secs(300), "5m"),
            (secs(5_400), "1h30m"),
            (secs(86_400), "1d"),
            (secs(90_000), "1d1h"),
            (secs(90), "1m30s"),
            (Duration::from_millis(500), "500ms"),
            (Duration::from_millis(1_500), "1s500ms"),
            (Duration::from_millis(93_784_005), "1d2h3m4s5ms"),
            (Duration::from_micros(1_999), "1ms"),
            (Duration::from_nanos(999), "0s"),
        ];
        for (d, expected) in cases {
            assert_eq!(format_duration(*d), *expected, "{d:?}");
        }
    }

    #[test]
    fn format_then_parse_round_trips() {
        for ms in [
            0u64,
            1,
            999,
            1_000,
            59_999,
            60_000,
            3_599_999,
            86_400_000,
            123_456_789_012,
        ] {
            let d = Duration::from_millis(ms);
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d, "{ms}ms");
        }
        let max = Duration::new(u64::MAX, 999_999_999);
        let text = format_duration(max);
        assert_eq!(
            parse_duration(&text).unwrap(),
            Duration::new(u64::MAX, 999_000_000)
        );
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Config {
        #[serde(with = "crate::duration::serde_str")]
        ttl: Duration,
        #[serde(default, with = "crate::duration::serde_str::option")]
        grace: Option<Duration>,
    }

    #[test]
    fn serde_helpers_read_and_write_strings() {
        let c: Config = serde_json::from_str(r#"{"ttl":"90m","grace":"30s"}"#).unwrap();
        assert_eq!(
            c,
            Config {
                ttl: secs(5_400),
                grace: Some(secs(30))
            }
        );
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"ttl":"1h30m","grace":"30s"}"#
        );

        let c: Config = serde_json::from_str(r#"{"ttl":"1s"}"#).unwrap();
        assert_eq!(c.grace, None);
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"ttl":"1s","grace":null}"#
        );
        let c: Config = serde_json::from_str(r#"{"ttl":"1s","grace":null}"#).unwrap();
        assert_eq!(c.grace, None);

        let err = serde_json::from_str::<Config>(r#"{"ttl":"90"}"#).unwrap_err();
        assert!(err.to_string().contains("has no unit"), "{err}");
        assert!(serde_json::from_str::<Config>(r#"{"ttl":90}"#).is_err());
        assert!(serde_json::from_str::<Config>(r#"{"ttl":"1s","grace":"x"}"#).is_err());
    }
}
