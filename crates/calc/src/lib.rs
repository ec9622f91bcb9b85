//! Calc (SPEC 6): the calculator behind the gRPC service and `ferrum-cli`.
//!
//! - [`primes`]: the nth prime, pure arithmetic with no protocol in it

pub mod primes;
