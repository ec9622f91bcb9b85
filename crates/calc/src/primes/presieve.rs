//! Patterns of the multiples of the primes from 7 to 53 over the 30-wheel, put into a
//! segment a word at a time instead of crossing each multiple off: 7, 11 and 13 (one
//! 1001-word period) start every segment, and the pairs from 17 * 19 to 47 * 53 are
//! ANDed in when the segment is to hold primes (a quarter of the crossings otherwise).

use super::sieve::{NUMBERS_PER_WORD, RESIDUES};

/// The largest prime whose multiples the patterns remove.
pub(super) const LARGEST_PRESIEVED: u64 = 53;

/// The words of one period, `N` = the product of `factors`: bits of the numbers with none
/// of those factors. A period of N words is 240 N numbers, a multiple of every factor.
const fn pattern<const N: usize>(factors: [u64; 3]) -> [u64; N] {
    let mut words = [0u64; N];
    let mut w = 0;
    while w < N {
        let mut bit = 0;
        while bit < 64 {
            let n = w as u64 * NUMBERS_PER_WORD + (bit as u64 / 8) * 30 + RESIDUES[bit % 8];
            let mut kept = true;
            let mut f = 0;
            while f < 3 {
                if factors[f] > 1 && n % factors[f] == 0 {
                    kept = false;
                }
                f += 1;
            }
            if kept {
                words[w] |= 1 << bit;
            }
            bit += 1;
        }
        w += 1;
    }
    words
}

/// The numbers coprime to 30030: 1 is kept, 7, 11 and 13 removed, so a segment starts as phi(n, 6).
static SEVEN_TO_THIRTEEN: [u64; 1001] = pattern([7, 11, 13]);
static SEVENTEEN_NINETEEN: [u64; 323] = pattern([17, 19, 1]);
static TWENTY_THREE_TWENTY_NINE: [u64; 667] = pattern([23, 29, 1]);
static THIRTY_ONE_THIRTY_SEVEN: [u64; 1147] = pattern([31, 37, 1]);
static FORTY_ONE_FORTY_THREE: [u64; 1763] = pattern([41, 43, 1]);
static FORTY_SEVEN_FIFTY_THREE: [u64; 2491] = pattern([47, 53, 1]);

/// Fills `words`, which start at number `low` (a multiple of 240), with phi(n, 6).
pub(super) fn fill(words: &mut [u64], low: u64) {
    let period = &SEVEN_TO_THIRTEEN;
    let mut phase = ((low / NUMBERS_PER_WORD) % period.len() as u64) as usize;
    let mut filled = 0;
    while filled < words.len() {
        let take = (period.len() - phase).min(words.len() - filled);
        words[filled..filled + take].copy_from_slice(&period[phase..phase + take]);
        filled += take;
        phase = 0;
    }
}

/// Removes the multiples of the primes from 17 to 53 (the primes themselves included).
pub(super) fn remove_17_to_53(words: &mut [u64], low: u64) {
    let periods: [&[u64]; 5] = [
        &SEVENTEEN_NINETEEN,
        &TWENTY_THREE_TWENTY_NINE,
        &THIRTY_ONE_THIRTY_SEVEN,
        &FORTY_ONE_FORTY_THREE,
        &FORTY_SEVEN_FIFTY_THREE,
    ];
    for period in periods {
        let mut phase = ((low / NUMBERS_PER_WORD) % period.len() as u64) as usize;
        let mut done = 0;
        while done < words.len() {
            let take = (period.len() - phase).min(words.len() - done);
            for (word, &mask) in words[done..done + take].iter_mut().zip(&period[phase..phase + take]) {
                *word &= mask;
            }
            done += take;
            phase = 0;
        }
    }
}
