//! Stepping from a number to the kth prime above or below it with the segmented sieve:
//! the last stretch from a counted pi(x) to p_n, and from one answer of a batch to the next.

use std::ops::ControlFlow;

use super::sieve::{self, Segment};
use super::table;

/// The widest window sieved at once: 2^26 numbers, a few MB of sieving primes and their state.
const MAX_WINDOW: u64 = 1 << 26;

/// How wide a window likely holds `k` primes near `n`: k * ln(n), plus a margin.
fn window_for(n: u64, k: u64) -> u64 {
    let expected = k as f64 * (n as f64).ln() * 1.1;
    (expected as u64 + (1 << 16)).min(MAX_WINDOW)
}

/// How many primes are in [from, to).
fn count_primes(from: u64, to: u64) -> u64 {
    let below_seven = [2, 3, 5].iter().filter(|p| (from..to).contains(p)).count() as u64;
    let sieving = table::sieving_primes(to.isqrt());
    let mut count = below_seven;
    sieve::sieve_primes(from, to, &sieving, |segment| {
        count += segment.count_between(from, to);
        ControlFlow::Continue(())
    });
    count
}

/// The `rank`-th (1-based) prime at or above `from`, if [from, to) holds that many.
fn nth_prime_in(from: u64, to: u64, rank: u64) -> Option<u64> {
    let mut remaining = rank;
    for p in [2, 3, 5] {
        if (from..to).contains(&p) {
            remaining -= 1;
            if remaining == 0 {
                return Some(p);
            }
        }
    }
    let sieving = table::sieving_primes(to.isqrt());
    let mut found = None;
    sieve::sieve_primes(from, to, &sieving, |segment: &Segment| {
        let here = segment.count_between(from, to);
        if here < remaining {
            remaining -= here;
            return ControlFlow::Continue(());
        }
        found = segment.nth_from(from, remaining);
        ControlFlow::Break(())
    });
    found
}

/// The kth prime above `start` (k >= 1).
pub(super) fn kth_prime_above(start: u64, k: u64) -> u64 {
    let mut from = start + 1;
    let mut remaining = k;
    let mut width = window_for(start, k);
    loop {
        let to = from + width;
        if let Some(p) = nth_prime_in(from, to, remaining) {
            return p;
        }
        remaining -= count_primes(from, to);
        from = to;
        width = (width * 2).min(MAX_WINDOW);
    }
}

/// The kth prime at or below `end` counting down (k = 1 gives the largest), if there are k of them.
pub(super) fn kth_prime_at_or_below(end: u64, k: u64) -> Option<u64> {
    let mut to = end + 1;
    let mut remaining = k;
    let mut width = window_for(end, k);
    while to > 0 {
        let from = to.saturating_sub(width);
        let count = count_primes(from, to);
        if count >= remaining {
            return nth_prime_in(from, to, count - remaining + 1);
        }
        remaining -= count;
        to = from;
        width = (width * 2).min(MAX_WINDOW);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_to_neighbouring_primes() {
        assert_eq!(kth_prime_above(0, 1), 2);
        assert_eq!(kth_prime_above(2, 2), 5);
        assert_eq!(kth_prime_above(104_729, 1), 104_743);
        assert_eq!(kth_prime_at_or_below(104_743, 1), Some(104_743));
        assert_eq!(kth_prime_at_or_below(104_742, 1), Some(104_729));
        assert_eq!(kth_prime_at_or_below(13, 6), Some(2));
        assert_eq!(kth_prime_at_or_below(13, 7), None);
        // Far enough to need more than one window: p(2 * 10^6) from p(10^6).
        assert_eq!(kth_prime_above(15_485_863, 1_000_000), 32_452_843);
        assert_eq!(kth_prime_at_or_below(32_452_843, 1_000_001), Some(15_485_863));
    }
}
