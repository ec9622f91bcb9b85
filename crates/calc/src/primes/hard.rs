//! The hard special leaves and the pi(x/p) values of P2, from one segmented sieve over [0, z).
//!
//! Each segment starts as phi(n, 6) (the presieved pattern); then for b = 7, 8, ... the
//! leaves phi(v, b - 1) that fall inside it are counted, and the multiples of p_b are
//! crossed off. The count below the segment, phi[b], is carried from one segment to
//! the next. Counts inside a segment come from per-chunk totals that crossing off
//! keeps up to date, plus a popcount within one chunk. Once a segment lies above
//! sqrt(x) and is sieved by every prime up to sqrt(z), what is left are its primes,
//! which answers pi(x/p) for the P2 term in the same pass.

use super::count::{PRESIEVED, Parameters, Squarefree};
use super::sieve::{NUMBERS_PER_WORD, PrefixCounter, Segment, SievingPrime, mask_up_to};
use super::table;

/// Words per segment: 32 KiB, so the segment stays in the L1 data cache while crossing off.
const SEGMENT_WORDS: usize = 4096;

/// log2 of the words per small and per large counting chunk.
const SMALL_SHIFT: usize = 2;
const LARGE_SHIFT: usize = 8;

/// Counts of the numbers left in a segment per chunk of 4 and of 256 words, kept up to
/// date while crossing off: a count skips whole large chunks, then small ones, and
/// popcounts at most 4 words. (Without a popcount instruction in the baseline x86-64
/// target, popcounts are the expensive part.)
#[derive(Debug, Default)]
struct ChunkCounts {
    small: Vec<u32>,
    large: Vec<u32>,
    total: u64,
}

impl ChunkCounts {
    fn rebuild(&mut self, segment: &Segment) {
        let popcount = |words: &[u64]| words.iter().map(|w| w.count_ones()).sum::<u32>();
        self.small.clear();
        self.small.extend(segment.words().chunks(1 << SMALL_SHIFT).map(popcount));
        self.large.clear();
        self.large.extend(self.small.chunks(1 << (LARGE_SHIFT - SMALL_SHIFT)).map(|c| c.iter().sum::<u32>()));
        self.total = self.large.iter().map(|&c| u64::from(c)).sum();
    }

    /// Records that `removed` (0 or 1) numbers in word `word` were crossed off.
    fn remove(&mut self, word: usize, removed: u32) {
        self.small[word >> SMALL_SHIFT] -= removed;
        self.large[word >> LARGE_SHIFT] -= removed;
        self.total -= u64::from(removed);
    }

    /// How many numbers are left in [low, v], resuming from `cursor`; `v` must not decrease.
    fn count_up_to(&self, cursor: &mut ChunkCursor, segment: &Segment, v: u64) -> u64 {
        let offset = v - segment.low();
        let word = (offset / NUMBERS_PER_WORD) as usize;
        let large = word >> LARGE_SHIFT;
        if cursor.large < large {
            while cursor.large < large {
                cursor.before_large += u64::from(self.large[cursor.large]);
                cursor.large += 1;
            }
            cursor.small = large << (LARGE_SHIFT - SMALL_SHIFT);
            cursor.before_small = cursor.before_large;
        }
        let small = word >> SMALL_SHIFT;
        while cursor.small < small {
            cursor.before_small += u64::from(self.small[cursor.small]);
            cursor.small += 1;
        }
        let words = segment.words();
        let within: u32 = words[small << SMALL_SHIFT..word].iter().map(|w| w.count_ones()).sum();
        cursor.before_small + u64::from(within) + u64::from((words[word] & mask_up_to(offset)).count_ones())
    }
}

/// Where a run of increasing counts in one segment has got to.
#[derive(Debug, Default)]
struct ChunkCursor {
    large: usize,
    before_large: u64,
    small: usize,
    before_small: u64,
}

/// The sum of the hard special leaves, and the sum of pi(x/p) over the primes p in (y, sqrt(x)].
pub(super) fn hard_leaves_and_p2_sum(params: &Parameters, squarefree: &[Squarefree]) -> (i64, u64) {
    let table = table::get();
    let Parameters { x, y, z, .. } = *params;
    let primes = &params.primes;
    let c = PRESIEVED;
    let last_sieving_b = table.pi(z.isqrt()) as usize;
    let last_hard_b = last_sieving_b.min(params.a - 1);

    // Where each b's leaves have got to: an index into `squarefree` (b <= pi(sqrt(y)),
    // m taken downwards) or into `primes` (larger b, q taken downwards).
    let mut next_m = vec![squarefree.len(); params.pi_sqrt_y + 1];
    let mut next_q: Vec<usize> =
        (0..=last_hard_b).map(|b| if b > c { table.pi((z / primes[b]).min(y)) as usize } else { 0 }).collect();
    // phi[b]: the numbers below the segment with no prime factor up to p_b.
    let mut phi = vec![0u64; last_hard_b + 1];
    let mut crossing: Vec<SievingPrime> =
        primes[c + 1..=last_sieving_b].iter().map(|&p| SievingPrime::new(p, 1, 0)).collect();

    // P2 needs pi(x/p) for p from sqrt(x) down to y: read from the table below the first
    // segment above sqrt(x), counted from the sieve from there on.
    let segment_numbers = SEGMENT_WORDS as u64 * NUMBERS_PER_WORD;
    let p2_start = (x.isqrt() / segment_numbers + 1) * segment_numbers;
    let p2_primes: Vec<u32> = table.primes_between(y + 1, x.isqrt() + 1).map(|p| p as u32).collect();
    let mut p2_index = p2_primes.len();
    let mut pi_sum = 0;
    while p2_index > 0 && x / u64::from(p2_primes[p2_index - 1]) < p2_start {
        pi_sum += table.pi(x / u64::from(p2_primes[p2_index - 1]));
        p2_index -= 1;
    }
    let mut pi_below_segment = None;

    let mut segment = Segment::new(SEGMENT_WORDS);
    let mut counts = ChunkCounts::default();
    let mut sum = 0i64;
    let mut low = 0;
    while low < z {
        segment.reset(low);
        let high = segment.high();
        // A leaf phi(x / (p_b m), b - 1) at or above `low` has p_b^2 < x / low.
        let last_b = last_hard_b.min(table.pi((x / low.max(1)).isqrt()) as usize);
        if last_b > c {
            counts.rebuild(&segment);
        }
        for b in c + 1..=last_b {
            let p = primes[b];
            let x_over_p = x / p;
            let phi_below = phi[b - 1] as i64;
            let mut cursor = ChunkCursor::default();
            if b <= params.pi_sqrt_y {
                // m squarefree with prime factors above p_b and y / p_b < m <= y; the leaf's sign is -mu(m).
                let smallest_above = y / p;
                let mut index = next_m[b];
                while index > 0 {
                    let leaf = squarefree[index - 1];
                    if leaf.m <= smallest_above {
                        index = 0;
                        break;
                    }
                    if leaf.least_prime > p {
                        let v = leaf.divisor.divide(x_over_p);
                        if v >= high {
                            break;
                        }
                        sum -= leaf.moebius * (phi_below + counts.count_up_to(&mut cursor, &segment, v) as i64);
                    }
                    index -= 1;
                }
                next_m[b] = index;
            } else {
                // m = q prime in (p_b, z / p_b]; the leaf's sign is +1.
                let mut index = next_q[b];
                while index > b {
                    let v = params.divisors[index].divide(x_over_p);
                    if v >= high {
                        break;
                    }
                    sum += phi_below + counts.count_up_to(&mut cursor, &segment, v) as i64;
                    index -= 1;
                }
                next_q[b] = index;
            }
            phi[b - 1] += counts.total;
            segment.cross_off_counting(&mut crossing[b - c - 1], |word, removed| counts.remove(word, removed));
        }
        for prime in crossing.iter_mut().skip(last_b.saturating_sub(c)) {
            segment.cross_off(prime);
        }

        if low >= p2_start {
            let pi_below = *pi_below_segment.get_or_insert_with(|| table.pi(low - 1));
            let mut counter = PrefixCounter::default();
            while p2_index > 0 {
                let v = x / u64::from(p2_primes[p2_index - 1]);
                if v >= high {
                    break;
                }
                pi_sum += pi_below + counter.count_up_to(&segment, v);
                p2_index -= 1;
            }
            pi_below_segment = Some(pi_below + segment.count_all());
        }
        low = high;
    }
    (sum, pi_sum)
}
