//! Stepping from a number to the kth prime above or below it with the segmented sieve:
//! the last stretch from a counted pi(x) to p_n, and from one answer of a batch to the next.

use std::ops::ControlFlow;

use super::presieve::LARGEST_PRESIEVED;
use super::sieve::{self, NUMBERS_PER_WORD, SMALL_PRIME, Segment, SievingPrime};
use super::table;

/// The widest window sieved at once: 2^26 numbers, a few MB of sieving primes and their state.
const MAX_WINDOW: u64 = 1 << 26;

/// How wide a window likely holds `k` primes near `n`: k * ln(n), plus a margin.
fn window_for(n: u64, k: u64) -> u64 {
    let expected = k as f64 * (n as f64).ln() * 1.1;
    (expected as u64 + (1 << 16)).min(MAX_WINDOW)
}

/// 2, 3 and 5 in [from, to): the wheel leaves them out.
fn below_seven(from: u64, to: u64) -> impl Iterator<Item = u64> {
    [2, 3, 5].into_iter().filter(move |p| (from..to).contains(p))
}

/// The `rank`-th (1-based) prime at or above `from`, or how many primes [from, to) holds
/// when that is fewer.
fn nth_prime_in(from: u64, to: u64, rank: u64) -> Result<u64, u64> {
    let mut remaining = rank;
    for p in below_seven(from, to) {
        remaining -= 1;
        if remaining == 0 {
            return Ok(p);
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
    found.ok_or(rank - remaining)
}

/// How many primes [from, to) holds and, when the `rank`-th largest of them (1-based)
/// lies in the last segment sieved (most windows are one segment), that prime.
fn count_primes_finding_from_top(from: u64, to: u64, rank: u64) -> (u64, Option<u64>) {
    let sieving = table::sieving_primes(to.isqrt());
    let mut count = below_seven(from, to).count() as u64;
    let mut found = None;
    sieve::sieve_primes(from, to, &sieving, |segment: &Segment| {
        let here = segment.count_between(from, to);
        count += here;
        if segment.high() >= to && here >= rank {
            found = segment.nth_from(from, here - rank + 1);
        }
        ControlFlow::Continue(())
    });
    (count, found)
}

/// The kth prime above `start` (k >= 1).
pub(super) fn kth_prime_above(start: u64, k: u64) -> u64 {
    let mut from = start + 1;
    let mut remaining = k;
    let mut width = window_for(start, k);
    loop {
        let to = from + width;
        match nth_prime_in(from, to, remaining) {
            Ok(p) => return p,
            Err(count) => remaining -= count,
        }
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
        let (count, found) = count_primes_finding_from_top(from, to, remaining);
        if count >= remaining {
            return found.or_else(|| nth_prime_in(from, to, count - remaining + 1).ok());
        }
        remaining -= count;
        to = from;
        width = (width * 2).min(MAX_WINDOW);
    }
    None
}

/// A walk up the primes that keeps its sieve between steps, for the batches: a step then
/// costs only the crossing off over its span, not finding every sieving prime's first
/// multiple again. The state is 80 bytes per sieving prime, so a walk is only taken
/// where those stay few (see [`PrimeWalk::fits`]).
#[derive(Debug)]
pub(super) struct PrimeWalk {
    segment: Segment,
    crossing: Vec<SievingPrime>,
    /// The prime the walk stands on: steps count the primes above it.
    position: u64,
}

/// Segments of 256 KiB: a prime above 2^15 is looked at once per segment even when it has
/// no multiple in it, so long segments keep that cost down; the smaller primes cross off
/// 32 KiB at a time.
const WALK_SEGMENT_WORDS: usize = 1 << 15;

/// The largest sqrt(x) a walk sieves up to: 2^21, at most 155,611 sieving primes (12 MB).
const WALK_SQRT_LIMIT: u64 = 1 << 21;

impl PrimeWalk {
    /// Whether a walk reaching `x` keeps few enough sieving primes.
    pub(super) fn fits(x: u64) -> bool {
        x.isqrt() < WALK_SQRT_LIMIT
    }

    /// A walk standing on `start`, which must be at least 59 (the wheel and the patterns
    /// leave out 2, 3 and 5, and the walk crosses off from 59 up).
    pub(super) fn new(start: u64) -> Self {
        debug_assert!(start >= 59);
        let mut walk = PrimeWalk { segment: Segment::new(WALK_SEGMENT_WORDS), crossing: Vec::new(), position: start };
        walk.sieve_segment(start - start % NUMBERS_PER_WORD, true);
        walk
    }

    /// The prime the walk stands on.
    pub(super) fn position(&self) -> u64 {
        self.position
    }

    /// Steps to the kth prime above the walk's position (k >= 1) and stands there.
    pub(super) fn step(&mut self, k: u64) -> u64 {
        let mut remaining = k;
        loop {
            let here = self.segment.count_between(self.position + 1, self.segment.high());
            if here >= remaining {
                if let Some(p) = self.segment.nth_from(self.position + 1, remaining) {
                    self.position = p;
                    return p;
                }
            }
            remaining -= here;
            self.sieve_segment(self.segment.high(), false);
        }
    }

    /// Sieves the segment starting at `low`; `fresh` when the sieving primes start there.
    fn sieve_segment(&mut self, low: u64, fresh: bool) {
        self.segment.reset_for_primes(low);
        let high = self.segment.high();
        let table = table::get();
        if fresh {
            self.crossing.clear();
        }
        let from = self.crossing.last().map_or(LARGEST_PRESIEVED + 1, |p| p.prime() + 1);
        let to = (high - 1).isqrt() + 1;
        if from < to {
            let added = table.primes_between(from, to).map(|p| SievingPrime::new(p, p, low));
            self.crossing.extend(added);
        }
        let small = self.crossing.partition_point(|p| p.prime() < SMALL_PRIME);
        let (small, large) = self.crossing.split_at_mut(small);
        self.segment.cross_off_by_blocks(small);
        for prime in large {
            self.segment.cross_off(prime);
        }
    }
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

    #[test]
    fn a_walk_steps_like_single_steps() {
        let mut walk = PrimeWalk::new(104_729);
        for k in [1, 1, 2, 1_000, 1, 100_000, 3] {
            let expected = kth_prime_above(walk.position(), k);
            assert_eq!(walk.step(k), expected);
        }
        assert_eq!(PrimeWalk::new(59).step(1), 61);
    }
}
