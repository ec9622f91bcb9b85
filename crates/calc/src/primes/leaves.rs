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
pub(super) fn easy(params: &Parameters) -> i64 {
    let table = table::get();
    let Parameters { x, y, z, .. } = *params;
    let primes = &params.primes;
    let first_b = PRESIEVED.max(params.pi_sqrt_y) + 1;
    let mut sum = 0;
    for b in first_b..params.a {
        let p = primes[b];
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
        let mut index = table.pi(largest) as usize;
        let end = table.pi(smallest_above) as usize;
        // Above sqrt(x / p) successive leaves share pi(v): count them in runs.
        let run_end = table.pi(x_over_p.isqrt().clamp(smallest_above, largest)) as usize;
        let b = b as i64;
        while index > run_end {
            let pi_v = table.pi(x_over_p / primes[index]);
            // Every q with x / (p q) below the next prime after v shares this pi(v).
            let next = (table.pi(x_over_p / primes[pi_v as usize + 1]) as usize).max(run_end);
            sum += (pi_v as i64 - b + 2) * (index - next) as i64;
            index = next;
        }
        while index > end {
            sum += table.pi(x_over_p / primes[index]) as i64 - b + 2;
            index -= 1;
        }
    }
    sum
}
