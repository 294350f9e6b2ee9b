//! RFC 7519 §2 NumericDate: seconds since the epoch as a JSON number.

use serde_json::{Map, Value};

use super::DateError;

/// The largest NumericDate accepted: 9999-12-31T23:59:59Z.
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

/// The NumericDate `v` in whole seconds: an integer as is, a fraction floored. Refused: a
/// non-number, a negative or a value after [`MAX_NUMERIC_DATE`].
pub fn numeric_date(v: &Value) -> Result<i64, DateError> {
    let Value::Number(n) = v else {
        return Err(DateError::NotANumber);
    };
    let secs = if let Some(i) = n.as_i64() {
        i
    } else if n.as_u64().is_some() {
        // Above i64::MAX.
        return Err(DateError::OutOfRange);
    } else {
        let f = n.as_f64().ok_or(DateError::NotANumber)?;
        if !f.is_finite() {
            return Err(DateError::OutOfRange);
        }
        if f < 0.0 {
            return Err(DateError::Negative);
        }
        if f > MAX_NUMERIC_DATE as f64 {
            return Err(DateError::OutOfRange);
        }
        // In range [0, MAX_NUMERIC_DATE]: the cast is exact after flooring.
        f.floor() as i64
    };
    if secs < 0 {
        return Err(DateError::Negative);
    }
    if secs > MAX_NUMERIC_DATE {
        return Err(DateError::OutOfRange);
    }
    Ok(secs)
}

/// The claim `name` of `claims` as a NumericDate: `Ok(None)` when absent (or `null`).
pub fn numeric_date_claim(
    claims: &Map<String, Value>,
    name: &str,
) -> Result<Option<i64>, DateError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => numeric_date(v).map(Some),
    }
}
