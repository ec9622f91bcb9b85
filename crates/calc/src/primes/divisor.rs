//! Division by a fixed divisor as a multiplication, for the leaf loops.
//!
//! The easy and hard leaves divide x / p by tens of millions of primes and squarefree
//! numbers; a hardware 64-bit division costs several times a 64 x 64 -> 128-bit
//! multiplication, so each divisor gets its reciprocal once (Granlund and Montgomery,
//! "Division by invariant integers using multiplication", 1994, theorem 4.2).

/// Dividends must be below 2^53: x is at most p(MAX_N) < 2^49.
const DIVIDEND_BITS: u32 = 53;

/// A divisor d with m = ceil(2^(k + l) / d), where 2^(l - 1) < d <= 2^l and
/// k = max(53, 64 - l).
///
/// Then floor(n / d) = floor(n * m / 2^(k + l)) for every n < 2^k, because
/// m * d - 2^(k + l) < d <= 2^l; m <= 2^(k + 1) fits in 64 bits, and k + l >= 64, so
/// the quotient is the high half of the 128-bit product shifted right.
#[derive(Debug, Clone, Copy)]
pub(super) struct Divisor {
    magic: u64,
    /// k + l - 64.
    shift: u32,
}

impl Divisor {
    /// The reciprocal of `d`, which must be at least 2 and below 2^32.
    pub(super) fn new(d: u64) -> Self {
        debug_assert!((2..1 << 32).contains(&d));
        let bits = 64 - (d - 1).leading_zeros(); // l: d <= 2^l
        let total_shift = (DIVIDEND_BITS + bits).max(64);
        let magic = (1u128 << total_shift).div_ceil(u128::from(d)) as u64;
        Divisor { magic, shift: total_shift - 64 }
    }

    /// floor(n / d) for n below 2^53.
    #[inline]
    pub(super) fn divide(self, n: u64) -> u64 {
        debug_assert!(n < 1 << DIVIDEND_BITS);
        (((u128::from(n) * u128::from(self.magic)) >> 64) as u64) >> self.shift
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn divides_at_the_edges() {
        for d in [2u64, 3, 7, 17, 30_029, 65_536, 65_537, (1 << 31) + 11, (1 << 32) - 5] {
            let divisor = Divisor::new(d);
            let limit = (1u64 << 53) - 1;
            for n in [0, 1, d - 1, d, d + 1, limit, limit - 1, limit / d * d, limit / d * d - 1] {
                assert_eq!(divisor.divide(n), n / d, "{n} / {d}");
            }
        }
    }

    proptest! {
        #[test]
        fn divides_like_the_hardware(d in 2u64..1 << 32, n in 0u64..1 << 53) {
            prop_assert_eq!(Divisor::new(d).divide(n), n / d);
        }
    }
}
