//! A segmented sieve of Eratosthenes over the numbers coprime to 30, one bit each.
//!
//! The 30-wheel keeps 8 of every 30 numbers, so one `u64` covers 240 numbers and a
//! segment of a few KiB spans hundreds of thousands. Multiples of 7, 11 and 13 are
//! removed by copying a precomputed pattern (see `presieve.rs`) instead of being crossed off.

use std::ops::ControlFlow;

use super::presieve;

/// The residues modulo 30 that are coprime to 30, in bit order within a byte.
pub(super) const RESIDUES: [u64; 8] = [1, 7, 11, 13, 17, 19, 23, 29];

/// How many numbers one sieve word covers: 8 bytes of 30 numbers.
pub(super) const NUMBERS_PER_WORD: u64 = 240;

/// The bit (0..8) of each residue modulo 30 that is coprime to 30; 8 for the others.
const BIT_OF_RESIDUE: [u8; 30] = {
    let mut bits = [8u8; 30];
    let mut i = 0;
    while i < 8 {
        bits[RESIDUES[i] as usize] = i as u8;
        i += 1;
    }
    bits
};

/// For each offset 0..240 inside a word, the bits of the numbers at or below that offset.
const MASK_UP_TO: [u64; 240] = {
    let mut masks = [0u64; 240];
    let mut offset = 0;
    while offset < 240 {
        let mut mask = 0u64;
        let mut bit = 0;
        while bit < 64 {
            if (bit as u64 / 8) * 30 + RESIDUES[bit % 8] <= offset as u64 {
                mask |= 1 << bit;
            }
            bit += 1;
        }
        masks[offset] = mask;
        offset += 1;
    }
    masks
};

/// The bits of `word` that stand for numbers at most `offset` (0..240) into it.
pub(super) fn mask_up_to(offset: u64) -> u64 {
    MASK_UP_TO[(offset % NUMBERS_PER_WORD) as usize]
}

/// The number that bit `bit` (0..64) of word `word` stands for, counted from 0.
pub(super) fn number_at(word: u64, bit: u32) -> u64 {
    word * NUMBERS_PER_WORD + u64::from(bit / 8) * 30 + RESIDUES[(bit % 8) as usize]
}

/// A prime above 13 with the next multiple to cross off in each of the 8 residue classes.
///
/// The multiples p * k with k = r (mod 30) for a fixed r all fall on the same bit of
/// bytes p apart, so each class is a plain stride through the segment.
#[derive(Debug, Clone)]
pub(super) struct SievingPrime {
    prime: u64,
    /// The byte index, counted from 0, of the next multiple in each class.
    next_byte: [u64; 8],
    /// The bit that multiples of each class land on.
    bit: [u8; 8],
}

impl SievingPrime {
    /// Starts crossing off at the first multiple that is at least `from` and at least `p * first_factor`.
    pub(super) fn new(prime: u64, first_factor: u64, from: u64) -> Self {
        let start = from.max(prime * first_factor);
        let min_factor = start.div_ceil(prime);
        let mut next_byte = [0; 8];
        let mut bit = [0; 8];
        for (class, &residue) in RESIDUES.iter().enumerate() {
            let factor = min_factor + (residue + 30 - min_factor % 30) % 30;
            let multiple = prime * factor;
            next_byte[class] = multiple / 30;
            bit[class] = BIT_OF_RESIDUE[(multiple % 30) as usize];
        }
        SievingPrime { prime, next_byte, bit }
    }

    /// The prime itself.
    pub(super) fn prime(&self) -> u64 {
        self.prime
    }
}

/// One segment [low, low + 240 * words) of the sieve; `low` is a multiple of 240.
#[derive(Debug)]
pub(super) struct Segment {
    low: u64,
    words: Vec<u64>,
}

impl Segment {
    /// An empty segment of `words` words (240 numbers each).
    pub(super) fn new(words: usize) -> Self {
        Segment { low: 0, words: vec![0; words] }
    }

    /// The first number of the segment.
    pub(super) fn low(&self) -> u64 {
        self.low
    }

    /// One past the last number of the segment.
    pub(super) fn high(&self) -> u64 {
        self.low + self.words.len() as u64 * NUMBERS_PER_WORD
    }

    /// The sieve words.
    pub(super) fn words(&self) -> &[u64] {
        &self.words
    }

    /// Moves the segment to start at `low` (a multiple of 240), holding the numbers
    /// with no prime factor up to 13 (and 1): phi restricted to the segment.
    pub(super) fn reset(&mut self, low: u64) {
        debug_assert_eq!(low % NUMBERS_PER_WORD, 0);
        self.low = low;
        presieve::fill(&mut self.words, low);
    }

    /// Moves the segment to start at `low` and leaves in it the primes and the numbers with
    /// no prime factor up to 53; the caller then crosses off the primes above 53, from
    /// their squares.
    pub(super) fn reset_for_primes(&mut self, low: u64) {
        self.reset(low);
        presieve::remove_17_to_53(&mut self.words, low);
        if low == 0 {
            self.words[0] &= !1; // 1 is not a prime
            for p in [7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53] {
                self.words[0] |= 1 << ((p / 30) * 8 + u64::from(BIT_OF_RESIDUE[(p % 30) as usize]));
            }
        }
    }

    /// Crosses off the multiples of `prime` inside the segment and moves it past the segment.
    pub(super) fn cross_off(&mut self, prime: &mut SievingPrime) {
        self.cross_off_below(prime, self.high());
    }

    /// Crosses off the multiples of every prime in `small` one 32 KiB block at a time, so
    /// that the block stays in the L1 cache while they all pass over it.
    pub(super) fn cross_off_by_blocks(&mut self, small: &mut [SievingPrime]) {
        const BLOCK_NUMBERS: u64 = 4096 * NUMBERS_PER_WORD;
        let high = self.high();
        let mut block_end = self.low;
        while block_end < high {
            block_end = (block_end + BLOCK_NUMBERS).min(high);
            for prime in small.iter_mut() {
                self.cross_off_below(prime, block_end);
            }
        }
    }

    /// Crosses off the multiples of `prime` below `end` (at most the segment's end) and moves it to `end`.
    fn cross_off_below(&mut self, prime: &mut SievingPrime, end: u64) {
        let first_byte = self.low / 30;
        let end_byte = end / 30;
        for class in 0..8 {
            let bit = u64::from(prime.bit[class]);
            let mut byte = prime.next_byte[class];
            while byte < end_byte {
                let offset = byte - first_byte;
                self.words[(offset / 8) as usize] &= !(1 << ((offset % 8) * 8 + bit));
                byte += prime.prime;
            }
            prime.next_byte[class] = byte;
        }
    }

    /// Like [`Segment::cross_off`], reporting each multiple as `removed(word index, 1 if it
    /// was still there else 0)`: branch-free, because whether a multiple is still there is
    /// as good as random and a mispredicted branch costs more than the bookkeeping.
    pub(super) fn cross_off_counting(&mut self, prime: &mut SievingPrime, mut removed: impl FnMut(usize, u32)) {
        let first_byte = self.low / 30;
        let end_byte = first_byte + self.words.len() as u64 * 8;
        for class in 0..8 {
            let bit = u64::from(prime.bit[class]);
            let mut byte = prime.next_byte[class];
            while byte < end_byte {
                let offset = byte - first_byte;
                let index = (offset / 8) as usize;
                let shift = (offset % 8) * 8 + bit;
                let word = self.words[index];
                self.words[index] = word & !(1 << shift);
                removed(index, ((word >> shift) & 1) as u32);
                byte += prime.prime;
            }
            prime.next_byte[class] = byte;
        }
    }

    /// How many numbers are left in the whole segment.
    pub(super) fn count_all(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// How many numbers are left in [from, to) within the segment.
    pub(super) fn count_between(&self, from: u64, to: u64) -> u64 {
        let from = from.clamp(self.low, self.high());
        let to = to.clamp(self.low, self.high());
        if from >= to { 0 } else { self.count_below(to) - self.count_below(from) }
    }

    /// How many numbers are left in [low, n), for n in [low, high].
    fn count_below(&self, n: u64) -> u64 {
        if n == self.low {
            return 0;
        }
        let offset = n - 1 - self.low;
        let word = (offset / NUMBERS_PER_WORD) as usize;
        let before: u64 = self.words[..word].iter().map(|w| u64::from(w.count_ones())).sum();
        before + u64::from((self.words[word] & mask_up_to(offset)).count_ones())
    }

    /// The `rank`-th (1-based) number left at or above `from`, if the segment holds that many.
    pub(super) fn nth_from(&self, from: u64, rank: u64) -> Option<u64> {
        let mut remaining = rank;
        let first_word = (from.saturating_sub(self.low) / NUMBERS_PER_WORD) as usize;
        for (index, &word) in self.words.iter().enumerate().skip(first_word) {
            let mut bits = word;
            while bits != 0 {
                let n = number_at(self.low / NUMBERS_PER_WORD + index as u64, bits.trailing_zeros());
                bits &= bits - 1;
                if n >= from {
                    remaining -= 1;
                    if remaining == 0 {
                        return Some(n);
                    }
                }
            }
        }
        None
    }
}

/// Sieves [from, to) one segment at a time and shows each segment to `visit`, holding the
/// primes from 7 up (2, 3 and 5 are not in the wheel). `sieving_primes` must hold every
/// prime from 17 up to at least the square root of `to`, ascending.
///
/// Each segment finds every sieving prime's first multiple afresh instead of keeping 80
/// bytes of state per prime: up to sqrt(p(10^13)) that state would take 90 MB. Segments
/// are large (up to 1 MiB) so that finding the multiples costs less than crossing off;
/// the primes below 2^15 cross them off one 32 KiB block at a time, in the L1 cache.
pub(super) fn sieve_primes(
    from: u64,
    to: u64,
    sieving_primes: &[u64],
    mut visit: impl FnMut(&Segment) -> ControlFlow<()>,
) {
    let first_low = from - from % NUMBERS_PER_WORD;
    let words = (to - first_low).div_ceil(NUMBERS_PER_WORD).clamp(64, 1 << 17) as usize;
    let mut segment = Segment::new(words);
    let crossed = sieving_primes.partition_point(|&p| p <= presieve::LARGEST_PRESIEVED);
    let sieving_primes = &sieving_primes[crossed..];
    let mut small = Vec::new();
    let mut low = first_low;
    while low < to {
        segment.reset_for_primes(low);
        let high = segment.high();
        let needed = sieving_primes.iter().take_while(|&&p| p * p < high);
        small.clear();
        small.extend(needed.clone().take_while(|&&p| p < SMALL_PRIME).map(|&p| SievingPrime::new(p, p, low)));
        segment.cross_off_by_blocks(&mut small);
        for &p in needed.skip(small.len()) {
            segment.cross_off(&mut SievingPrime::new(p, p, low));
        }
        if visit(&segment).is_break() {
            return;
        }
        low = high;
    }
}

/// Primes below this cross off block by block (see [`Segment::cross_off_by_blocks`]): their
/// strides are shorter than a block.
pub(super) const SMALL_PRIME: u64 = 1 << 15;

/// Counts the numbers left in a segment up to increasing limits, resuming where the last count stopped.
#[derive(Debug, Default)]
pub(super) struct PrefixCounter {
    word: usize,
    before_word: u64,
}

impl PrefixCounter {
    /// How many numbers are left in [low, n]; `n` must not decrease between calls on the same segment.
    pub(super) fn count_up_to(&mut self, segment: &Segment, n: u64) -> u64 {
        let offset = n - segment.low;
        let word = (offset / NUMBERS_PER_WORD) as usize;
        for w in &segment.words[self.word..word] {
            self.before_word += u64::from(w.count_ones());
        }
        self.word = word;
        self.before_word + u64::from((segment.words[word] & mask_up_to(offset)).count_ones())
    }
}

/// The primes in [from, to), ascending; `sieving_primes` as for [`sieve_primes`].
pub(super) fn primes_between(from: u64, to: u64, sieving_primes: &[u64], mut found: impl FnMut(u64)) {
    for p in [2, 3, 5] {
        if (from..to).contains(&p) {
            found(p);
        }
    }
    sieve_primes(from, to, sieving_primes, |segment| {
        for (index, &word) in segment.words.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let n = number_at(segment.low / NUMBERS_PER_WORD + index as u64, bits.trailing_zeros());
                if n >= from && n < to {
                    found(n);
                }
                bits &= bits - 1;
            }
        }
        ControlFlow::Continue(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_prime(n: u64) -> bool {
        n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
    }

    #[test]
    fn primes_between_matches_trial_division() {
        let sieving: Vec<u64> = (17..2_000).filter(|&n| is_prime(n)).collect();
        for (from, to) in [(0, 1_000), (1, 2), (2, 3), (100, 200), (239, 241), (999_000, 1_003_000)] {
            let mut found = Vec::new();
            primes_between(from, to, &sieving, |p| found.push(p));
            let expected: Vec<u64> = (from..to).filter(|&n| is_prime(n)).collect();
            assert_eq!(found, expected, "[{from}, {to})");
        }
    }

    #[test]
    fn the_pattern_holds_phi_of_13() {
        let mut segment = Segment::new(2 * 1001 + 5);
        segment.reset(1001 * NUMBERS_PER_WORD * 3 - 240);
        let mut counter = PrefixCounter::default();
        let mut expected = 0;
        let mut n = segment.low();
        while n < segment.high() {
            if [2, 3, 5, 7, 11, 13].iter().all(|p| n % p != 0) {
                expected += 1;
            }
            if n % 997 == 0 {
                assert_eq!(counter.count_up_to(&segment, n), expected, "n = {n}");
            }
            n += 1;
        }
        assert_eq!(segment.count_all(), expected);
    }
}
