//! The nth prime (1-based: 1 -> 2, 12 -> 37), exact for every n up to [`MAX_N`].
//!
//! # Primes
//!
//! A sieve up to p_n would take seconds at n = 10^9 and hours at 10^12, so p_n is found
//! the way primecount finds it: guess x close to p_n with the inverse of Riemann's R
//! function (`estimate.rs`), count the primes up to x exactly with the Deleglise–Rivat
//! method (`count.rs`, about x^(2/3) work instead of x), then sieve the few million
//! numbers between x and p_n (`walk.rs`). The first 2,063,689 primes (those below 2^25)
//! are sieved once into a 2.2 MB bit table (`table.rs`) that answers small n directly and
//! gives the counting its pi(v) lookups. A batch is answered in increasing n, each
//! answer either counted afresh or reached by sieving on from the previous one,
//! whichever is cheaper.

mod count;
mod divisor;
mod estimate;
mod hard;
mod leaves;
mod presieve;
#[cfg(test)]
mod reference;
mod sieve;
mod table;
mod walk;

/// The largest n answered: 10^13, ten times what the service allows by default. Its prime,
/// 323,780,508,946,331, takes about 1.3 s and 22 MB on one core. Not much further
/// (n near 3 * 10^13) the counting would need primes past the table (it reads them up to
/// sqrt(p_n)), and the time keeps growing as p_n^(2/3).
pub const MAX_N: u64 = 10_000_000_000_000;

/// The nth prime of each `n`, in input order (duplicates kept).
///
/// The values are answered in increasing order so that close values share work.
///
/// # Panics
///
/// If any `n` is 0 or above [`MAX_N`]: callers validate first, so that is a bug.
pub fn nth_primes(ns: &[u64]) -> Vec<u64> {
    let Some(answers) = nth_primes_until(ns, || false) else { unreachable!("never cancelled") };
    answers
}

/// [`nth_primes`], giving up (`None`) when `cancelled()` is true before the next distinct value:
/// a single value cannot be interrupted, but a batch stops within one value of being abandoned.
///
/// # Panics
///
/// If any `n` is 0 or above [`MAX_N`]: callers validate first, so that is a bug.
pub fn nth_primes_until(ns: &[u64], cancelled: impl Fn() -> bool) -> Option<Vec<u64>> {
    ns.iter().for_each(|&n| check(n));
    let mut order: Vec<usize> = (0..ns.len()).collect();
    order.sort_unstable_by_key(|&i| ns[i]);
    let mut answers = vec![0; ns.len()];
    let mut previous: Option<(u64, u64)> = None;
    let mut walk = None;
    for i in order {
        let n = ns[i];
        let p = match previous {
            Some((previous_n, previous_p)) if previous_n == n => previous_p,
            _ if cancelled() => return None,
            _ => nth_prime_after(n, previous, &mut walk),
        };
        answers[i] = p;
        previous = Some((n, p));
    }
    Some(answers)
}

/// The nth prime, 1-based.
///
/// # Panics
///
/// If `n` is 0 or above [`MAX_N`]: callers validate first, so that is a bug.
pub fn nth_prime(n: u64) -> u64 {
    check(n);
    nth_prime_after(n, None, &mut None)
}

/// pi(x), the number of primes at most `x`, for `x` up to p([`MAX_N`]).
///
/// # Panics
///
/// If `x` is above p([`MAX_N`]) = 323,780,508,946,331.
pub fn prime_count(x: u64) -> u64 {
    assert!(x <= MAX_PRIME, "prime_count({x}): x is above p(MAX_N) = {MAX_PRIME}");
    count::prime_count(x)
}

/// p([`MAX_N`]).
const MAX_PRIME: u64 = 323_780_508_946_331;

fn check(n: u64) {
    assert!((1..=MAX_N).contains(&n), "nth prime of {n}: n must be in 1..={MAX_N}");
}

/// The nth prime, possibly by sieving on from an already known (smaller n, its prime);
/// `walk`, when it stands on that prime, sieves on without starting afresh.
fn nth_prime_after(n: u64, known: Option<(u64, u64)>, walk: &mut Option<walk::PrimeWalk>) -> u64 {
    if let Some(p) = table::get().nth(n) {
        return p;
    }
    let estimate = estimate::nth_prime_estimate(n);
    if let Some((known_n, known_p)) = known {
        if known_p > presieve::LARGEST_PRESIEVED && sieving_is_cheaper(known_p, estimate) {
            if !walk::PrimeWalk::fits(estimate) {
                return walk::kth_prime_above(known_p, n - known_n);
            }
            let walk = match walk {
                Some(walk) if walk.position() == known_p => walk,
                _ => walk.insert(walk::PrimeWalk::new(known_p)),
            };
            return walk.step(n - known_n);
        }
    }
    let counted = count::prime_count(estimate);
    if counted >= n {
        walk::kth_prime_at_or_below(estimate, counted - n + 1)
            .unwrap_or_else(|| unreachable!("pi({estimate}) = {counted} >= {n}, so p_{n} <= {estimate}"))
    } else {
        walk::kth_prime_above(estimate, n - counted)
    }
}

/// Whether sieving from `from` to about `to` costs less than counting pi(to) afresh.
///
/// Both costs as measured on one core: a fresh count, and a walk started anew after it,
/// take about 2 ms + 3.6 * 10^-10 x^(2/3) s (5 ms at x = 2 * 10^10, 0.35 s at
/// 3 * 10^13). A walk sieves a number in
/// 0.55 ns at 2 * 10^10 and 1.4 ns at 3 * 10^12, where it has more sieving primes to
/// pass over; beyond what a walk keeps, the windows cost about 3.2 ns a number.
fn sieving_is_cheaper(from: u64, to: u64) -> bool {
    let x = to as f64;
    let counting_seconds = 2e-3 + 3.6e-10 * x.powf(2.0 / 3.0);
    let sieving_ns_per_number = if walk::PrimeWalk::fits(to) { (0.55 + 0.18 * (x.ln() - 23.9)).max(0.55) } else { 3.2 };
    (to.saturating_sub(from) as f64) * sieving_ns_per_number * 1e-9 < counting_seconds
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn known_values() {
        let known = [
            (1, 2),
            (2, 3),
            (3, 5),
            (6, 13),
            (12, 37),
            (10_001, 104_743),
            (1_000_000, 15_485_863),
            (2_063_689, 33_554_393),
            (2_063_690, 33_554_467),
            (1_000_000_000, 22_801_763_489),
        ];
        for (n, p) in known {
            assert_eq!(nth_prime(n), p, "n = {n}");
        }
    }

    #[test]
    fn the_trillionth_prime() {
        assert_eq!(nth_prime(1_000_000_000_000), 29_996_224_275_833);
    }

    #[test]
    fn every_n_up_to_a_million_matches_the_reference_sieve() {
        let primes = reference::primes_up_to(15_485_863);
        assert_eq!(primes.len(), 1_000_000);
        let ns: Vec<u64> = (1..=1_000_000).rev().collect();
        let mut answers = nth_primes(&ns);
        answers.reverse();
        assert_eq!(answers, primes);
    }

    #[test]
    fn batches_keep_input_order_and_duplicates() {
        assert_eq!(nth_primes(&[12, 2, 12, 1]), [37, 3, 37, 2]);
        assert!(nth_primes(&[]).is_empty());
        let ns = [50_000_000, 3, 50_000_001, 2_500_000, 50_000_000, 49_999_999, 2_500_000, 1];
        let one_by_one: Vec<u64> = ns.iter().map(|&n| nth_prime(n)).collect();
        assert_eq!(nth_primes(&ns), one_by_one);
        assert_eq!(one_by_one[0], 982_451_653);
    }

    #[test]
    #[should_panic(expected = "n must be in 1..=")]
    fn n_zero_is_a_caller_bug() {
        nth_primes(&[5, 0]);
    }

    #[test]
    #[should_panic(expected = "n must be in 1..=")]
    fn n_above_max_n_is_a_caller_bug() {
        nth_prime(MAX_N + 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn nth_prime_matches_the_reference(n in prop_oneof![2_000_000u64..2_200_000, 1..=100_000_000u64]) {
            prop_assert_eq!(nth_prime(n), reference::nth_prime(n));
        }

        #[test]
        fn prime_count_matches_the_reference(x in prop_oneof![(1u64 << 25)..(1 << 25) + 100_000, 0..reference::LIMIT]) {
            prop_assert_eq!(prime_count(x), reference::prime_count(x));
        }

        #[test]
        fn batches_match_the_reference(first in 1u64..=99_000_000, steps in vec(0u64..200_000, 1..12)) {
            // Close values, so that later answers are sieved on from earlier ones.
            let ns: Vec<u64> = steps.iter().scan(first, |n, step| { *n += step; Some(*n) }).collect();
            let expected: Vec<u64> = ns.iter().map(|&n| reference::nth_prime(n)).collect();
            prop_assert_eq!(nth_primes(&ns), expected);
        }
    }
}
