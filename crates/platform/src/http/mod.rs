//! HTTP building blocks shared by every module.
//!
//! - [`problem`]: RFC 9457 problem details, the platform's error body (SPEC 1.4)
//! - [`extract`]: `Json`, `LenientJson`, `Path`, `Query` whose rejections are problems
//! - [`middleware`]: the one place the layer stack is assembled
//! - [`rate_limit`]: per-client GCRA limits, in process or in Redis

pub mod extract;
pub mod middleware;
pub mod problem;
pub mod rate_limit;

pub use extract::{Json, LenientJson, Path, Query};
pub use problem::{FieldError, Problem};
