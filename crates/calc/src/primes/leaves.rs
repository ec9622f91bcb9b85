//! The special leaves that need no sieve.
//!
//! For b above pi(sqrt(y)) a special leaf is phi(x / (p_b q), b - 1) with a prime q in
//! (p_b, y]. Write v = x / (p_b q). When v < p_b the leaf is 1 (trivial); when
//! p_b <= v < y it is pi(v) - b + 2, read from the table (easy); the rest (v >= y) is
//! left to the sieve.

use super::count::{PRESIEVED, Parameters};
use super::table;

/// The trivial leaves: for each b, the primes q with x / (p_b q) < p_b, each leaf worth 1.
pub(super) fn trivial(params: &Parameters) -> i64 {
    let table = table::get();
    let first_b = PRESIEVED.max(params.pi_sqrt_y) + 1;
    let mut sum = 0;
    for b in first_b..params.a {
        let p = params.primes[b];
        let smallest_trivial_above = (params.x / (p * p)).min(params.y).max(p);
        sum += params.a as i64 - table.pi(smallest_trivial_above) as i64;
    }
    sum
}

/// The easy leaves: for each b, the primes q with p_b <= x / (p_b q) < y, each worth pi(v) - b + 2.
///
/// Below sqrt(x / p_b) each q has its own v, and the leaves are summed one by one. Above
/// it, v < q and the v are denser in primes than the q are, so the sum of pi(v) is
/// counted the other way round: for each prime p_k in the range of v, how many q have
/// x / (p_b q) >= p_k, that is q <= x / (p_b p_k). Both loops have independent
/// iterations (a division and a table lookup), so the processor overlaps them.
pub(super) fn easy(params: &Parameters) -> i64 {
    let table = table::get();
    let Parameters { x, y, z, .. } = *params;
    let divisors = &params.divisors;
    let first_b = PRESIEVED.max(params.pi_sqrt_y) + 1;
    let mut sum = 0;
    for b in first_b..params.a {
        let p = params.primes[b];
        let x_over_p = x / p;
        // q <= largest: not trivial; q > smallest_above: v < y, so not hard.
        let largest = (x_over_p / p).min(y);
        let smallest_above = (z / p).max(p);
        if largest <= smallest_above {
            if p * p * p > x {
                break; // every later leaf is trivial
            }
            continue;
        }
        let last = table.pi(largest) as usize;
        let end = table.pi(smallest_above) as usize;
        let split = table.pi(x_over_p.isqrt().clamp(smallest_above, largest)) as usize;
        let mut pi_sum = 0;
        if last > split {
            // q indexes in (split, last]; v from x / (p q_last) up to x / (p q_(split + 1)).
            let leaves = (last - split) as u64;
            let first_k = table.pi(divisors[last].divide(x_over_p)) as usize;
            let last_k = table.pi(divisors[split + 1].divide(x_over_p)) as usize;
            // Every p_k up to p_first_k is at most every v.
            pi_sum += first_k as u64 * leaves;
            for divisor in &divisors[first_k + 1..=last_k] {
                pi_sum += table.pi(divisor.divide(x_over_p)) - split as u64;
            }
        }
        for divisor in &divisors[end + 1..=split] {
            pi_sum += table.pi(divisor.divide(x_over_p));
        }
        sum += pi_sum as i64 - (b as i64 - 2) * (last - end) as i64;
    }
    sum
}
