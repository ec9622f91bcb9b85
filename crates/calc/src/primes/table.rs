//! The primes below 2^25, built once per process: small n are read from it, and the
//! prime counting reads pi(v) and its sieving primes from it.
//!
//! One bit per number coprime to 30 with the count of primes before each 240-number
//! word beside it: pi(v) is one lookup and a popcount, in 2.2 MB for 2,063,689 primes.

use std::sync::OnceLock;

use super::sieve::{self, NUMBERS_PER_WORD, Segment, SievingPrime};

/// The table holds the primes below this bound.
pub(super) const TABLE_LIMIT: u64 = 1 << 25;

/// Words per segment while building: 32 KiB, about one L1 data cache.
const SEGMENT_WORDS: usize = 4096;

/// How many primes are below [`TABLE_LIMIT`]: pi(2^25).
pub(super) const TABLE_PRIMES: u64 = 2_063_689;

/// 240 numbers of the table: their bits, and how many primes above 5 come before them.
#[derive(Debug, Clone, Copy)]
struct TableWord {
    bits: u64,
    primes_before: u64,
}

/// The primes below [`TABLE_LIMIT`].
#[derive(Debug)]
pub(super) struct PrimeTable {
    words: Vec<TableWord>,
}

/// The table, sieved on first use.
pub(super) fn get() -> &'static PrimeTable {
    static TABLE: OnceLock<PrimeTable> = OnceLock::new();
    TABLE.get_or_init(PrimeTable::build)
}

impl PrimeTable {
    fn build() -> Self {
        let word_count = (TABLE_LIMIT / NUMBERS_PER_WORD + 1) as usize;
        let mut words = Vec::with_capacity(word_count);
        // Sieving primes from 59 (the patterns remove those up to 53) to above sqrt(2^25), by trial division.
        let small: Vec<u64> =
            (59..6_000u64).filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)).collect();
        let mut crossing: Vec<SievingPrime> = small.iter().map(|&p| SievingPrime::new(p, p, 0)).collect();
        let mut segment = Segment::new(SEGMENT_WORDS);
        let mut primes_before = 0;
        while words.len() < word_count {
            segment.reset_for_primes(words.len() as u64 * NUMBERS_PER_WORD);
            for prime in &mut crossing {
                segment.cross_off(prime);
            }
            for &bits in segment.words().iter().take(word_count - words.len()) {
                words.push(TableWord { bits, primes_before });
                primes_before += u64::from(bits.count_ones());
            }
        }
        // Drop the bits at and above the limit so that counts and lookups stop there.
        if let Some(last) = words.last_mut() {
            last.bits &= sieve::mask_up_to(TABLE_LIMIT - 1);
        }
        PrimeTable { words }
    }

    /// pi(v), the number of primes at most `v`; `v` must be below [`TABLE_LIMIT`].
    pub(super) fn pi(&self, v: u64) -> u64 {
        debug_assert!(v < TABLE_LIMIT);
        if v < 7 {
            return [0, 0, 1, 2, 2, 3, 3][v as usize];
        }
        let word = &self.words[(v / NUMBERS_PER_WORD) as usize];
        3 + word.primes_before + u64::from((word.bits & sieve::mask_up_to(v)).count_ones())
    }

    /// The nth prime (1-based), if it is below [`TABLE_LIMIT`].
    pub(super) fn nth(&self, n: u64) -> Option<u64> {
        match n {
            0 => None,
            1..=3 => Some([2, 3, 5][n as usize - 1]),
            _ if n > TABLE_PRIMES => None,
            _ => {
                let rank = n - 3;
                let index = self.words.partition_point(|w| w.primes_before < rank) - 1;
                let word = self.words[index];
                let mut bits = word.bits;
                for _ in 1..rank - word.primes_before {
                    bits &= bits - 1;
                }
                Some(sieve::number_at(index as u64, bits.trailing_zeros()))
            }
        }
    }

    /// The primes in [from, to), ascending; `to` must be at most [`TABLE_LIMIT`].
    pub(super) fn primes_between(&self, from: u64, to: u64) -> impl Iterator<Item = u64> + '_ {
        debug_assert!(to <= TABLE_LIMIT);
        let small = [2, 3, 5].into_iter().filter(move |p| (from..to).contains(p));
        let first_word = (from / NUMBERS_PER_WORD) as usize;
        let end_word = (to.div_ceil(NUMBERS_PER_WORD) as usize).min(self.words.len());
        let rest = self.words[first_word..end_word].iter().enumerate().flat_map(move |(i, word)| {
            let index = (first_word + i) as u64;
            let mut bits = word.bits;
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let n = sieve::number_at(index, bits.trailing_zeros());
                    bits &= bits - 1;
                    n
                })
            })
        });
        small.chain(rest.filter(move |n| (from..to).contains(n)))
    }
}

/// The primes from 17 up to `limit` inclusive, for crossing off; from the table when it reaches that far.
pub(super) fn sieving_primes(limit: u64) -> Vec<u64> {
    if limit < TABLE_LIMIT {
        return get().primes_between(17, limit + 1).collect();
    }
    let base = sieving_primes(limit.isqrt());
    let mut primes = Vec::new();
    sieve::primes_between(17, limit + 1, &base, |p| primes.push(p));
    primes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_knows_its_own_size() {
        let table = get();
        assert_eq!(table.pi(TABLE_LIMIT - 1), TABLE_PRIMES);
        assert_eq!(table.nth(TABLE_PRIMES), Some(33_554_393));
        assert_eq!(table.nth(TABLE_PRIMES + 1), None);
        assert_eq!(table.nth(0), None);
    }

    #[test]
    fn pi_and_nth_agree_on_small_values() {
        let table = get();
        let primes: Vec<u64> = table.primes_between(0, 10_000).collect();
        assert_eq!(primes.len(), 1229);
        for (i, &p) in primes.iter().enumerate() {
            assert_eq!(table.nth(i as u64 + 1), Some(p));
            assert_eq!(table.pi(p), i as u64 + 1);
            assert_eq!(table.pi(p - 1), i as u64);
        }
    }
}
