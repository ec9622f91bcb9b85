//! Calc (SPEC 6): the calculator behind the gRPC service and `ferrum-cli`.
//!
//! - [`primes`], [`arith`]: the nth prime, Add and Max; pure arithmetic, no protocol in it
//! - [`limits`]: what one NthPrimes call may ask; [`error`]: what goes wrong, mapped to gRPC codes
//! - [`proto`]: the messages, client and server generated from `proto/calc.proto`
//! - with the `service` feature (on by default): [`config`] (`FERRUM_CALC_MAX_N`), [`workers`]
//!   (bounded blocking computation), [`deadline`], [`health`] (NOT_SERVING from the stop signal
//!   on) and [`grpc`], the router `ferrum serve` mounts.
//!   `ferrum-cli` turns it off and builds only the client.

pub mod arith;
pub mod error;
pub mod limits;
pub mod primes;
pub mod proto;

#[cfg(feature = "service")]
pub mod config;
#[cfg(feature = "service")]
pub mod deadline;
#[cfg(feature = "service")]
pub mod grpc;
#[cfg(feature = "service")]
pub mod health;
#[cfg(feature = "service")]
pub mod workers;

pub use error::CalcError;
#[cfg(feature = "service")]
pub use {config::CalcConfig, grpc::grpc_routes};
