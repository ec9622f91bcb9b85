//! What one NthPrimes call may ask (SPEC 6): at most [`MAX_VALUES`] values, each from 1 to the
//! configured maximum. Checked in full before any work starts, so a bad value costs nothing.

use crate::error::CalcError;

/// The most values one NthPrimes call may carry.
pub const MAX_VALUES: usize = 10_000;

/// The default largest `n` (`FERRUM_CALC_MAX_N`): the 10^12.
pub const DEFAULT_MAX_N: u64 = 1_000_000_000_000;

/// Accepts `ns` when there are at most [`MAX_VALUES`] of them and each is in `1..=max_n`;
/// otherwise names the first value that is not.
pub fn check_ns(ns: &[u64], max_n: u64) -> Result<(), CalcError> {
    if ns.len() > MAX_VALUES {
        return Err(CalcError::TooManyValues { count: ns.len() });
    }
    match ns.iter().find(|&&n| n == 0 || n > max_n) {
        Some(&n) => Err(CalcError::InvalidN { n, max_n }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_values_in_range() {
        assert!(check_ns(&[], 10).is_ok());
        assert!(check_ns(&[1, 10, 5, 5], 10).is_ok());
        assert!(check_ns(&vec![7; MAX_VALUES], 10).is_ok());
    }

    #[test]
    fn names_the_first_bad_value() {
        assert!(matches!(check_ns(&[3, 0, 11], 10), Err(CalcError::InvalidN { n: 0, max_n: 10 })));
        assert!(matches!(check_ns(&[3, 11, 0], 10), Err(CalcError::InvalidN { n: 11, max_n: 10 })));
        let message = check_ns(&[u64::MAX], DEFAULT_MAX_N).unwrap_err().to_string();
        assert!(message.contains(&u64::MAX.to_string()) && message.contains("1000000000000"), "{message}");
    }

    #[test]
    fn refuses_too_many_values_before_looking_at_them() {
        let error = check_ns(&vec![0; MAX_VALUES + 1], 10).unwrap_err();
        assert!(matches!(error, CalcError::TooManyValues { count } if count == MAX_VALUES + 1));
        assert!(error.to_string().contains("10001"), "{error}");
    }
}
