//! Reference answers for the tests, from the plainest sieves: slow, but plainly right,
//! and sharing no code with the fast path.

use std::sync::OnceLock;

/// The primes up to `limit`, by a sieve of Eratosthenes with one bool per number.
pub(super) fn primes_up_to(limit: u64) -> Vec<u64> {
    let len = limit as usize + 1;
    let mut composite = vec![false; len];
    let mut primes = Vec::new();
    for i in 2..len {
        if composite[i] {
            continue;
        }
        primes.push(i as u64);
        for multiple in (i * i..len).step_by(i) {
            composite[multiple] = true;
        }
    }
    primes
}

/// The reference answers pi(x) for x below this bound, and p_n up to p(10^8) = 2,038,074,743.
pub(super) const LIMIT: u64 = 2_040_000_000;

/// Numbers per block of the reference's segmented sieve.
const BLOCK: u64 = 1 << 20;

/// The odd primes up to sqrt(LIMIT), for sieving the blocks.
fn odd_sieving_primes() -> &'static [u64] {
    static PRIMES: OnceLock<Vec<u64>> = OnceLock::new();
    PRIMES.get_or_init(|| primes_up_to(LIMIT.isqrt() + 1).into_iter().skip(1).collect())
}

/// The primes in block `index`, [index * BLOCK, (index + 1) * BLOCK), with one bool per odd number.
fn block_primes(index: u64) -> Vec<u64> {
    let low = index * BLOCK;
    let high = low + BLOCK;
    let mut composite = vec![false; (BLOCK / 2) as usize]; // low + 1 + 2i
    for &p in odd_sieving_primes().iter().take_while(|&&p| p * p < high) {
        let mut multiple = (p * p).max((low + 1).div_ceil(p) * p);
        if multiple % 2 == 0 {
            multiple += p;
        }
        while multiple < high {
            composite[((multiple - low - 1) / 2) as usize] = true;
            multiple += 2 * p;
        }
    }
    let odd = composite.iter().enumerate().filter(|&(_, &c)| !c).map(|(i, _)| low + 1 + 2 * i as u64);
    let primes = odd.filter(|&n| n > 1);
    if index == 0 { std::iter::once(2).chain(primes).collect() } else { primes.collect() }
}

/// `before[i]`: how many primes are below block i, for every block under [`LIMIT`].
fn primes_before_blocks() -> &'static [u64] {
    static BEFORE: OnceLock<Vec<u64>> = OnceLock::new();
    BEFORE.get_or_init(|| {
        let blocks = LIMIT.div_ceil(BLOCK);
        let mut before = Vec::with_capacity(blocks as usize + 1);
        let mut count = 0;
        for index in 0..blocks {
            before.push(count);
            count += block_primes(index).len() as u64;
        }
        before.push(count);
        before
    })
}

/// pi(x) for x below [`LIMIT`].
pub(super) fn prime_count(x: u64) -> u64 {
    assert!(x < LIMIT);
    let index = x / BLOCK;
    primes_before_blocks()[index as usize] + block_primes(index).iter().filter(|&&p| p <= x).count() as u64
}

/// The nth prime for n up to 10^8.
pub(super) fn nth_prime(n: u64) -> u64 {
    let before = primes_before_blocks();
    let index = before.partition_point(|&count| count < n) - 1;
    assert!(index + 1 < before.len(), "the reference stops below {LIMIT}");
    block_primes(index as u64)[(n - before[index] - 1) as usize]
}

#[test]
fn the_reference_agrees_with_itself_and_known_values() {
    let primes = primes_up_to(1_000_000);
    assert_eq!(primes.len(), 78_498);
    assert_eq!(prime_count(999_999), 78_498);
    assert_eq!(nth_prime(78_498), 999_983);
    assert_eq!(nth_prime(100_000_000), 2_038_074_743);
    assert_eq!(prime_count(2_038_074_743), 100_000_000);
    assert_eq!(prime_count(2_038_074_742), 99_999_999);
}
