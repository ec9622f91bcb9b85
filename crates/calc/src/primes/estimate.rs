//! A close guess of the nth prime: the inverse of Riemann's R function.
//!
//! R(x) = sum mu(k)/k li(x^(1/k)) tracks pi(x) to within about sqrt(x)/ln(x), so the
//! guess lands a few thousand primes from p_n at n = 10^12 and the sieve that finishes
//! the job covers a few million numbers.

/// The logarithmic integral li(x) for x > 1, by Ramanujan's series.
fn li(x: f64) -> f64 {
    const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;
    let ln_x = x.ln();
    let mut sum = 0.0;
    let mut term = 1.0; // (ln x)^n / (n! 2^(n-1)), with its sign
    let mut inner = 0.0; // sum of 1/(2k+1) for k <= (n-1)/2
    for n in 1..200 {
        term *= -ln_x / (f64::from(n) * 2.0);
        if n % 2 == 1 {
            inner += 1.0 / f64::from(n);
        }
        let added = -2.0 * term * inner;
        sum += added;
        if added.abs() < 1e-17 * sum.abs() {
            break;
        }
    }
    EULER_GAMMA + ln_x.ln() + x.sqrt() * sum
}

/// Riemann's R(x) = sum over k of mu(k)/k li(x^(1/k)), for x >= 2.
fn riemann_r(x: f64) -> f64 {
    const MOEBIUS: [f64; 41] = [
        0.0, 1.0, -1.0, -1.0, 0.0, -1.0, 1.0, -1.0, 0.0, 0.0, 1.0, -1.0, 0.0, -1.0, 1.0, 1.0, 0.0, -1.0, 0.0, -1.0,
        0.0, 1.0, 1.0, -1.0, 0.0, 0.0, 1.0, 0.0, 0.0, -1.0, -1.0, -1.0, 0.0, 1.0, 1.0, 1.0, 0.0, -1.0, 1.0, 1.0, 0.0,
    ];
    let mut sum = 0.0;
    for (k, &mu) in MOEBIUS.iter().enumerate().skip(1) {
        let root = x.powf(1.0 / k as f64);
        if root < 2.0 {
            break;
        }
        sum += mu / k as f64 * li(root);
    }
    sum
}

/// An estimate of the nth prime for n >= 2: the x where R(x) = n, by Newton's method.
pub(super) fn nth_prime_estimate(n: u64) -> u64 {
    let target = n as f64;
    let mut x = target * target.ln().max(1.0) + 2.0;
    for _ in 0..8 {
        // R'(x) is about 1/ln(x).
        let next = (x - (riemann_r(x) - target) * x.ln()).max(2.0);
        let converged = (next - x).abs() < 0.5;
        x = next;
        if converged {
            break;
        }
    }
    x as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn li_matches_known_values() {
        // li(10^6) = 78627.549..., li(2) = 1.04516...
        assert!((li(1e6) - 78_627.549_159).abs() < 1e-4);
        assert!((li(2.0) - 1.045_163_780).abs() < 1e-8);
    }

    #[test]
    fn the_estimate_lands_near_the_nth_prime() {
        for (n, p) in [(10_000u64, 104_729u64), (1_000_000, 15_485_863), (1_000_000_000_000, 29_996_224_275_833)] {
            let estimate = nth_prime_estimate(n);
            let distance = estimate.abs_diff(p) as f64;
            assert!(distance < (p as f64).sqrt(), "n = {n}: {estimate} vs {p}");
        }
    }
}
