//! Prints the nth prime of each argument, one per line: `nth_prime 1e9 12`.
//!
//! The benchmark script times this against primesieve and primecount.

use std::process::ExitCode;

/// Reads `n` written plainly (`1000000`) or as a power of ten (`1e6`).
fn parse(text: &str) -> Option<u64> {
    match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => {
            mantissa.parse::<u64>().ok()?.checked_mul(10u64.checked_pow(exponent.parse().ok()?)?)
        }
        None => text.parse().ok(),
    }
}

fn main() -> ExitCode {
    let mut ns = Vec::new();
    for arg in std::env::args().skip(1) {
        match parse(&arg) {
            Some(n) if (1..=ferrum_calc::primes::MAX_N).contains(&n) => ns.push(n),
            _ => {
                eprintln!("nth_prime: {arg:?} is not an n in 1..={}", ferrum_calc::primes::MAX_N);
                return ExitCode::from(2);
            }
        }
    }
    for p in ferrum_calc::primes::nth_primes(&ns) {
        println!("{p}");
    }
    ExitCode::SUCCESS
}
