//! pi(x), the number of primes up to x, by the Deleglise–Rivat method.
//!
//! With y >= x^(1/3) and a = pi(y): pi(x) = phi(x, a) + a - 1 - P2(x, y), where phi(x, a)
//! counts the numbers up to x with no prime factor up to y and P2 those that are a
//! product of two primes above y. phi(x, a) unfolds into ordinary leaves (S1, read from
//! a small periodic table) and special leaves (S2), sorted by how cheaply each is
//! known: trivial ones are 1, easy ones are read from the pi table, and only the hard
//! ones need the segmented sieve up to z = x/y, which also yields the pi values of P2.
//! The work is about x^(2/3) / log^2 x, so pi(3 * 10^13) takes a fraction of a second.

use super::divisor::Divisor;
use super::table::{self, TABLE_LIMIT};
use super::{hard, leaves};

/// phi(n, 6) is periodic in 30030 = 2 * 3 * 5 * 7 * 11 * 13 with 5760 survivors per period.
const PHI_PERIOD: usize = 30030;

/// phi(n, 6) for n in one period: how many of 1..=n have no prime factor up to 13.
static PHI_13: [u16; PHI_PERIOD] = {
    let mut counts = [0u16; PHI_PERIOD];
    let mut count = 0;
    let mut n = 1;
    while n < PHI_PERIOD {
        if n % 2 != 0 && n % 3 != 0 && n % 5 != 0 && n % 7 != 0 && n % 11 != 0 && n % 13 != 0 {
            count += 1;
        }
        counts[n] = count;
        n += 1;
    }
    counts
};

/// How many primes the sieve and phi table remove before any leaf is counted: 2 to 13.
pub(super) const PRESIEVED: usize = 6;

/// The smallest x that is counted rather than looked up; below it the table answers.
const MIN_COUNTED: u64 = TABLE_LIMIT;

/// phi(n, 6): the numbers in 1..=n with no prime factor up to 13.
fn phi_13(n: u64) -> u64 {
    let period = PHI_PERIOD as u64;
    n / period * 5760 + u64::from(PHI_13[(n % period) as usize])
}

/// A squarefree number whose prime factors are all above 13, with its least prime factor.
#[derive(Debug, Clone, Copy)]
pub(super) struct Squarefree {
    pub(super) m: u64,
    pub(super) least_prime: u64,
    /// The Moebius function of `m`: -1 or 1.
    pub(super) moebius: i64,
    /// `m` as a [`Divisor`].
    pub(super) divisor: Divisor,
}

/// The quantities every part of the count shares.
#[derive(Debug)]
pub(super) struct Parameters {
    pub(super) x: u64,
    /// The leaf bound, alpha * x^(1/3).
    pub(super) y: u64,
    /// x / y: the sieve covers [0, z).
    pub(super) z: u64,
    /// pi(y).
    pub(super) a: usize,
    /// pi(sqrt(y)): leaves with a smaller first prime may have a composite m.
    pub(super) pi_sqrt_y: usize,
    /// The primes, 1-based (`primes[0]` is 0 and unused), up to the first above max(y, sqrt(z)).
    pub(super) primes: Vec<u64>,
    /// Each of `primes` as a [`Divisor`] (the unused first one divides by 2).
    pub(super) divisors: Vec<Divisor>,
}

impl Parameters {
    fn new(x: u64, alpha: f64) -> Self {
        let cbrt = integer_cbrt(x);
        let y = ((alpha * cbrt as f64) as u64).clamp(cbrt + 1, x.isqrt());
        let z = x / y;
        let table = table::get();
        let last = y.max(z.isqrt()) + 1;
        let mut primes = vec![0];
        primes.extend(table.primes_between(0, last + 1));
        // One prime above `last`: the easy leaves read p_(pi(v) + 1) for v up to y.
        primes.extend(table.primes_between(last + 1, TABLE_LIMIT).next());
        let divisors = primes.iter().map(|&p| Divisor::new(p.max(2))).collect();
        Parameters { x, y, z, a: table.pi(y) as usize, pi_sqrt_y: table.pi(y.isqrt()) as usize, primes, divisors }
    }
}

/// The largest integer r with r^3 <= x.
fn integer_cbrt(x: u64) -> u64 {
    let mut r = (x as f64).cbrt() as u64;
    while r * r * r > x {
        r -= 1;
    }
    while (r + 1) * (r + 1) * (r + 1) <= x {
        r += 1;
    }
    r
}

/// The alpha in y = alpha * x^(1/3): a larger y moves work from the sieve (hard leaves,
/// up to x/y) to the table lookups (easy leaves). (ln x)^2 / 80 was the fastest on one
/// core from x = 10^10 (alpha 7) to 3 * 10^14 (alpha 14); the optimum is flat.
fn alpha_for(x: u64) -> f64 {
    let log = (x as f64).ln();
    (log * log / 80.0).clamp(1.0, 30.0)
}

/// pi(x): from the table below 2^25, counted above.
pub(super) fn prime_count(x: u64) -> u64 {
    if x < MIN_COUNTED {
        return table::get().pi(x);
    }
    prime_count_with_alpha(x, alpha_for(x))
}

/// pi(x) by Deleglise–Rivat with y = alpha * x^(1/3); x must be at least 2^25.
pub(super) fn prime_count_with_alpha(x: u64, alpha: f64) -> u64 {
    let params = Parameters::new(x, alpha);
    let squarefree = squarefree_above_13(params.y, &params.primes);
    let s1 = ordinary_leaves(x, &squarefree);
    let s2_trivial = leaves::trivial(&params);
    let s2_easy = leaves::easy(&params);
    let (s2_hard, pi_sum) = hard::hard_leaves_and_p2_sum(&params, &squarefree);
    // P2 = sum over primes p in (y, sqrt(x)] of pi(x/p) - pi(p) + 1, and the pi(p) - 1 sum is
    // that of b - 1 for b from a + 1 to pi(sqrt(x)).
    let a = params.a as i64;
    let b_end = table::get().pi(x.isqrt()) as i64;
    let p2 = pi_sum as i64 - (b_end * (b_end - 1) / 2 - a * (a - 1) / 2);
    let phi = s1 + s2_trivial + s2_easy + s2_hard;
    (phi + a - 1 - p2) as u64
}

/// The squarefree m in (1, y] whose prime factors are all above 13, ascending.
fn squarefree_above_13(y: u64, primes: &[u64]) -> Vec<Squarefree> {
    let len = y as usize + 1;
    let mut least_prime = vec![0u32; len];
    let mut moebius = vec![1i8; len];
    for &p in primes.iter().skip(1).take_while(|&&p| p <= y) {
        let p = p as usize;
        for multiple in (p..len).step_by(p) {
            if least_prime[multiple] == 0 {
                least_prime[multiple] = p as u32;
            }
            moebius[multiple] = -moebius[multiple];
        }
        for multiple in (p * p..len).step_by(p * p) {
            moebius[multiple] = 0;
        }
    }
    (17..len)
        .filter(|&m| moebius[m] != 0 && least_prime[m] >= 17)
        .map(|m| Squarefree {
            m: m as u64,
            least_prime: u64::from(least_prime[m]),
            moebius: i64::from(moebius[m]),
            divisor: Divisor::new(m as u64),
        })
        .collect()
}

/// S1: the sum of mu(m) phi(x/m, 6) over m = 1 and the squarefree m up to y above 13.
fn ordinary_leaves(x: u64, squarefree: &[Squarefree]) -> i64 {
    let leaves: i64 = squarefree.iter().map(|s| s.moebius * phi_13(x / s.m) as i64).sum();
    phi_13(x) as i64 + leaves
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::reference;
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        // alpha moves every boundary between ordinary, trivial, easy and hard leaves.
        #[test]
        fn counts_match_the_reference_for_any_alpha(x in MIN_COUNTED..reference::LIMIT, alpha in 1.0f64..30.0) {
            prop_assert_eq!(prime_count_with_alpha(x, alpha), reference::prime_count(x));
        }
    }

    #[test]
    fn phi_13_counts_numbers_without_small_factors() {
        let direct = |n: u64| (1..=n).filter(|k| [2, 3, 5, 7, 11, 13].iter().all(|p| k % p != 0)).count() as u64;
        for n in [0, 1, 16, 17, 30029, 30030, 30031, 100_000] {
            assert_eq!(phi_13(n), direct(n), "n = {n}");
        }
    }

    #[test]
    fn integer_cbrt_is_exact_at_cubes() {
        for r in [1u64, 2, 10, 31_072, 1_000_000] {
            assert_eq!(integer_cbrt(r * r * r), r);
            assert_eq!(integer_cbrt(r * r * r - 1), r - 1);
        }
    }

    #[test]
    fn counts_match_known_values() {
        let known = [
            (1u64 << 25, 2_063_689),
            (1_000_000_000, 50_847_534),
            (10_000_000_000, 455_052_511),
            (1_000_000_000_000, 37_607_912_018),
        ];
        for (x, pi) in known {
            assert_eq!(prime_count(x), pi, "pi({x})");
        }
    }

    #[test]
    fn counts_do_not_depend_on_alpha() {
        for x in [(1u64 << 25) + 1, 123_456_789, 4_000_000_007] {
            let expected = prime_count_with_alpha(x, 1.0);
            for alpha in [1.5, 3.0, 7.0, 20.0] {
                assert_eq!(prime_count_with_alpha(x, alpha), expected, "x = {x}, alpha = {alpha}");
            }
        }
    }
}
