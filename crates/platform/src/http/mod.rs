//! HTTP building blocks shared by every module.
//!
//! - [`problem`]: RFC 9457 problem details, the platform's error body (SPEC 1.4)
//! - [`extract`]: `Json`, `LenientJson`, `Path`, `Query` whose rejections are problems; `Json`
//!   also answers, with room for the headers the edge adds (`answer`)
//! - [`rejection`]: what the extractors and the token guard refuse, by kind, which a module may
//!   render in its own shape
//! - [`integer`]: integers in JSON bodies read exactly (`3.0` is 3; `3.5` and overflow are refused)
//! - [`object`]: a body that must be a JSON object (a derived reader also takes an array)
//! - [`middleware`]: the one place the platform's services are assembled, with the [`Edge`]
//!   outermost
//! - [`rate_limit`]: per-client GCRA limits, in process or in Redis
//! - [`routes`]: a router with its route templates, which the platform's services name routes by
//! - `observe`, `cors`, `guard`, `linger`, `compress` and `stamp`: the request id, access log
//!   and metrics; CORS; the body cap, deadline, panic net and problem bodies; the rest of an
//!   oversized body read after its 413; compression when asked for; the headers every answer
//!   carries, put on where answers are made (private: [`middleware::apply`] is how they are
//!   used)

mod answer;
mod compress;
mod cors;
mod edge;
pub mod extract;
mod guard;
pub mod integer;
mod linger;
pub mod middleware;
pub mod object;
mod observe;
pub mod problem;
pub mod rate_limit;
pub mod rejection;
pub mod routes;
mod stamp;

pub use edge::{Edge, EdgeFuture, MakeEdge};
pub use extract::{Json, LenientJson, Path, Query};
pub use problem::{FieldError, Problem};
pub use rejection::Rejection;
pub use routes::{RouteTemplates, Routes};
