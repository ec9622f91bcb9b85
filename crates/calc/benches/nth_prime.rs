//! `cargo bench -p ferrum-calc`: the nth prime at 10^6 (the table), 10^9 and 10^12 (counted),
//! and a batch of 10,000 values as the gRPC service may receive it.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ferrum_calc::primes::{nth_prime, nth_primes};

fn single_values(c: &mut Criterion) {
    let mut group = c.benchmark_group("nth_prime");
    for (name, n) in [("1e6", 1_000_000u64), ("1e9", 1_000_000_000), ("1e12", 1_000_000_000_000)] {
        if n >= 1_000_000_000_000 {
            group.sample_size(10).measurement_time(Duration::from_secs(20));
        }
        group.bench_function(name, |b| b.iter(|| nth_prime(black_box(n))));
    }
    group.finish();
}

/// 10,000 values spread over 1..10^8 by a fixed xorshift, so every run asks the same.
/// (Spread over 1..10^9 the batch takes about 14 s: see BENCHMARKS.md.)
fn batch_of_10000() -> Vec<u64> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..10_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % 100_000_000 + 1
        })
        .collect()
}

fn batch(c: &mut Criterion) {
    let ns = batch_of_10000();
    let mut group = c.benchmark_group("nth_primes");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("10000 values up to 1e8", |b| b.iter(|| nth_primes(black_box(&ns))));
    group.finish();
}

criterion_group!(benches, single_values, batch);
criterion_main!(benches);
