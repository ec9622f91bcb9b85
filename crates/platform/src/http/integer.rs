//! Integers in JSON bodies, read exactly as JSON Schema's `integer` means them: `3`, `3.0`,
//! `30e-1` and `0.3E1` are all the integer 3, which the OpenAPI document's `type: integer`
//! promises a client may send. `3.5`, a string, or a value outside i64 is refused (422 naming the
//! field), never rounded, truncated or wrapped.
//!
//! The number's text is read, not an `f64`: a float cannot tell `4503599627370496.5` from
//! `4503599627370496`, nor hold every i64.

use serde::{Deserialize, Deserializer, de::Error as _};
use serde_json::value::RawValue;

/// For `#[serde(default, deserialize_with = "ferrum_platform::http::integer::optional_i64")]`:
/// an optional i64 field that is absent, `null` or a JSON number denoting an integer in range.
pub fn optional_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let Some(raw) = Option::<Box<RawValue>>::deserialize(deserializer)? else { return Ok(None) };
    exact_i64(raw.get()).map(Some).map_err(|error| D::Error::custom(error.message(raw.get())))
}

/// Why a JSON value is not an i64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NotAnI64 {
    /// Not a number at all (a string, an object...).
    NotANumber,
    /// A number with a fractional part.
    Fraction,
    /// A whole number below i64::MIN or above i64::MAX.
    OutOfRange,
}

impl NotAnI64 {
    fn message(self, text: &str) -> String {
        let shown: String = text.chars().take(40).collect();
        match self {
            NotAnI64::NotANumber => format!("must be an integer, not {shown}"),
            NotAnI64::Fraction => format!("must be a whole number, not {shown}"),
            NotAnI64::OutOfRange => format!("must be from {} to {}, not {shown}", i64::MIN, i64::MAX),
        }
    }
}

/// The i64 a JSON value's text denotes: a number literal (`-12`, `1.0`, `1e3`, `1200e-2`) whose
/// value is a whole number in range. Anything else says why it is not one.
fn exact_i64(text: &str) -> Result<i64, NotAnI64> {
    let text = text.trim();
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return Err(NotAnI64::NotANumber);
    }
    // Exponents far beyond any i64 saturate; only their sign and size matter below.
    let exponent: i128 = match exponent {
        None => 0,
        Some(e) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => (-1, d),
                None => (1, e.strip_prefix('+').unwrap_or(e)),
            };
            if digits.is_empty() || !all_digits(digits) {
                return Err(NotAnI64::NotANumber);
            }
            sign * digits.parse::<i64>().map_or(i128::from(i64::MAX), i128::from)
        }
    };
    // The value is `significant * 10^scale`, with no leading or trailing zeros in `significant`.
    let digits = format!("{whole}{fraction}");
    let significant = digits.trim_start_matches('0');
    let trimmed = significant.trim_end_matches('0');
    if trimmed.is_empty() {
        return Ok(0);
    }
    let scale = exponent - fraction.len() as i128 + (significant.len() - trimmed.len()) as i128;
    if scale < 0 {
        return Err(NotAnI64::Fraction);
    }
    // i64 has 19 digits at most: anything longer is out of range, and the rest fits in an i128.
    if trimmed.len() as i128 + scale > 19 {
        return Err(NotAnI64::OutOfRange);
    }
    let magnitude = trimmed.parse::<i128>().map_err(|_| NotAnI64::OutOfRange)? * 10i128.pow(scale as u32);
    i64::try_from(if negative { -magnitude } else { magnitude }).map_err(|_| NotAnI64::OutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_in_any_spelling() {
        for (text, value) in [
            ("0", 0),
            ("-0", 0),
            ("0.000", 0),
            ("0e999999999999999999999", 0),
            ("7", 7),
            ("-7", -7),
            ("1.0", 1),
            ("375.000", 375),
            ("1e3", 1000),
            ("1E+3", 1000),
            ("1200e-2", 12),
            ("0.5e1", 5),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
            ("9223372036854775807.0", i64::MAX),
            ("922337203685477580.7e1", i64::MAX),
        ] {
            assert_eq!(exact_i64(text), Ok(value), "{text}");
        }
    }

    #[test]
    fn refuses_fractions_ranges_and_other_types() {
        for (text, error) in [
            ("1.5", NotAnI64::Fraction),
            ("4503599627370496.5", NotAnI64::Fraction),
            ("1.00000000000000000001", NotAnI64::Fraction),
            ("12e-1", NotAnI64::Fraction),
            ("1e-999999999999999999999", NotAnI64::Fraction),
            ("9223372036854775808", NotAnI64::OutOfRange),
            ("-9223372036854775809", NotAnI64::OutOfRange),
            ("99999999999999999999", NotAnI64::OutOfRange),
            ("1e19", NotAnI64::OutOfRange),
            ("1e999999999999999999999", NotAnI64::OutOfRange),
            ("\"1\"", NotAnI64::NotANumber),
            ("true", NotAnI64::NotANumber),
            ("[1]", NotAnI64::NotANumber),
        ] {
            assert_eq!(exact_i64(text), Err(error), "{text}");
        }
    }

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "optional_i64")]
        version: Option<i64>,
    }

    #[test]
    fn reads_a_field_through_the_body_decoder() {
        let read = |json: &str| super::super::extract::decode_json::<Body>(json.as_bytes()).map(|b| b.version);
        assert_eq!(read(r#"{"version": 3.0}"#).unwrap(), Some(3));
        assert_eq!(read(r#"{"version": null}"#).unwrap(), None);
        assert_eq!(read("{}").unwrap(), None);
        for bad in [r#"{"version": 3.5}"#, r#"{"version": 1e20}"#, r#"{"version": "3"}"#] {
            let problem = read(bad).unwrap_err();
            assert_eq!(problem.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
    }
}
