//! Add and Max on 64-bit integers: pure arithmetic, no protocol (STYLE R8).

use crate::error::CalcError;

/// `a + b`, or [`CalcError::Overflow`] when the sum does not fit in an `i64` (the original
/// service wrapped around or answered UNKNOWN; SPEC 6 wants the overflow named).
pub fn add(a: i64, b: i64) -> Result<i64, CalcError> {
    a.checked_add(b).ok_or(CalcError::Overflow { a, b })
}

/// The larger of `a` and `b`.
pub fn max(a: i64, b: i64) -> i64 {
    a.max(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_within_range() {
        assert_eq!(add(2, 5).unwrap(), 7);
        assert_eq!(add(-3, 3).unwrap(), 0);
        assert_eq!(add(i64::MAX, 0).unwrap(), i64::MAX);
        assert_eq!(add(i64::MAX, i64::MIN).unwrap(), -1);
        assert_eq!(add(i64::MIN, 0).unwrap(), i64::MIN);
    }

    #[test]
    fn overflow_names_both_operands() {
        for (a, b) in [(i64::MAX, 1), (1, i64::MAX), (i64::MIN, -1), (i64::MIN, i64::MIN)] {
            let error = add(a, b).unwrap_err();
            assert!(matches!(error, CalcError::Overflow { a: x, b: y } if x == a && y == b), "{a} + {b}");
            let message = error.to_string();
            assert!(message.contains(&a.to_string()) && message.contains(&b.to_string()), "{message}");
        }
    }

    #[test]
    fn max_picks_the_larger() {
        assert_eq!(max(2, 5), 5);
        assert_eq!(max(5, 2), 5);
        assert_eq!(max(-1, -7), -1);
        assert_eq!(max(i64::MIN, i64::MAX), i64::MAX);
        assert_eq!(max(4, 4), 4);
    }
}
