//! Calc (SPEC 6): the calculator behind the gRPC service and `ferrum-cli`.
//!
//! - [`primes`]: the nth prime, pure arithmetic with no protocol in it
//! - [`proto`]: the messages, client and server generated from `proto/calc.proto`

pub mod primes;
pub mod proto;
