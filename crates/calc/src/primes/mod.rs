//! The nth prime (1-based: 1 -> 2, 12 -> 37).

/// The nth prime of each `n`, in input order (duplicates kept). Every `n` must be at least 1.
pub fn nth_primes(ns: &[u64]) -> Vec<u64> {
    ns.iter().map(|&n| nth_prime(n)).collect()
}

/// The nth prime, 1-based. `n` must be at least 1.
///
/// A plain sieve up to an upper bound of the nth prime: correct for every `n`,
/// but its time and memory grow with the answer, so it only serves small `n`.
pub fn nth_prime(n: u64) -> u64 {
    assert!(n >= 1, "the nth prime is 1-based");
    let limit = upper_bound(n);
    let len = usize::try_from(limit + 1).unwrap_or(usize::MAX);
    let mut composite = vec![false; len];
    let mut count = 0;
    for i in 2..len {
        if composite[i] {
            continue;
        }
        count += 1;
        if count == n {
            return i as u64;
        }
        let mut multiple = i.saturating_mul(i);
        while multiple < len {
            composite[multiple] = true;
            multiple += i;
        }
    }
    unreachable!("upper_bound({n}) is at least the nth prime")
}

/// An upper bound of the nth prime: n(ln n + ln ln n) for n >= 6 (Rosser 1941).
fn upper_bound(n: u64) -> u64 {
    if n < 6 {
        return 13;
    }
    let n = n as f64;
    (n * (n.ln() + n.ln().ln())).ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        let known = [(1, 2), (2, 3), (3, 5), (6, 13), (12, 37), (10_001, 104_743), (1_000_000, 15_485_863)];
        for (n, p) in known {
            assert_eq!(nth_prime(n), p, "n = {n}");
        }
    }

    #[test]
    fn many_values_come_back_in_input_order() {
        assert_eq!(nth_primes(&[12, 2, 12, 1]), [37, 3, 37, 2]);
        assert!(nth_primes(&[]).is_empty());
    }
}
