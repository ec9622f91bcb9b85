//! HTTP building blocks shared by every module.
//!
//! - [`problem`]: RFC 9457 problem details, the platform's error body (SPEC 1.4)
//! - [`extract`]: `Json`, `LenientJson`, `Path`, `Query` whose rejections are problems; `Json`
//!   also answers, with room for the headers the edge adds (`answer`)
//! - [`body`]: large bodies read as they arrive: chunks, or NDJSON line by line, under the cap
//! - [`rejection`]: what the extractors and the token guard refuse, by kind, which a module may
//!   render in its own shape
//! - [`integer`]: integers in JSON bodies read exactly (`3.0` is 3; `3.5` and overflow are refused)
//! - [`object`]: a body that must be a JSON object (a derived reader also takes an array)
//! - [`middleware`]: the one place the platform's services are assembled, with the [`Edge`]
//!   outermost
//! - [`paging`]: keyset paging: the page size, the page, an opaque cursor, the `Link` header
//! - [`limits`]: a route's own body cap and deadline, raised above the platform's
//! - [`rate_limit`]: per-client GCRA limits, in process or in Redis
//! - [`routes`]: a router with its route templates, which the platform's services name routes by
//! - `observe`, `cors`, `guard`, `linger`, `compress` and `stamp`: the request id, access log
//!   and metrics; CORS; the body cap, deadline, panic net and problem bodies; the rest of an
//!   oversized body read after its 413; compression when asked for; the headers every answer
//!   carries, put on where answers are made (private: [`middleware::apply`] is how they are
//!   used)

mod answer;
pub mod body;
mod compress;
mod cors;
mod edge;
pub mod extract;
mod guard;
pub mod integer;
pub mod limits;
mod linger;
pub mod middleware;
pub mod object;
mod observe;
pub mod paging;
pub mod problem;
pub mod rate_limit;
pub mod rejection;
pub mod routes;
mod stamp;

pub use body::{Line, NdjsonLines, StreamedBody};
pub use edge::{Edge, EdgeFuture, MakeEdge};
pub use extract::{Json, LenientJson, Path, Query, for_each_json_element};
pub use limits::RouteLimits;
pub use problem::{FieldError, Problem};
pub use rejection::Rejection;
pub use routes::{RouteTemplates, Routes};
