//! JSON answers built with room for the headers the platform adds on the way out.
//!
//! An axum answer starts with an empty header map, which the first insert sizes for six
//! headers. A JSON answer holds two (`Content-Type`, and `Content-Length` from the router), and
//! the edge adds up to seven: the request id, the rate limit's three, CORS's up to three. The
//! seventh insert then grows the map: a new index, a reallocation and a copy of the entries,
//! about 970 instructions per request on `/health/live` with the limit and CORS on, the largest
//! single cost of the stack there (BENCHMARKS.md). Sizing the map once, when the answer is
//! made, costs no more than the first insert's sizing did.

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::{BufMut as _, Bytes, BytesMut};
use serde::Serialize;

use super::{Json, Problem};

/// Headers an answer has room for without growing: the two of a JSON answer, the seven the
/// edge may add, and three of the handler's own (`ETag`, `Location`, `Link`, `Retry-After`...).
const HEADER_ROOM: usize = 12;

/// An answer of `status` with `body` of `content_type`, sized for the platform's headers.
pub(crate) fn with_room(status: StatusCode, content_type: HeaderValue, body: Bytes) -> Response {
    let mut headers = HeaderMap::with_capacity(HEADER_ROOM);
    headers.insert(header::CONTENT_TYPE, content_type);
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// Answers `application/json`, like axum's `Json`, but with room for the platform's headers; a
/// value that cannot be serialised (a map with non-string keys) is a 500 problem.
impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        // axum's starting size: most answers fit, and a larger one grows once or twice.
        let mut writer = BytesMut::with_capacity(128).writer();
        match serde_json::to_writer(&mut writer, &self.0) {
            Ok(()) => {
                with_room(StatusCode::OK, HeaderValue::from_static("application/json"), writer.into_inner().freeze())
            }
            Err(error) => Problem::internal(format!("the answer could not be serialised: {error}")).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use http_body_util::BodyExt as _;

    use super::*;

    #[tokio::test]
    async fn json_answers_carry_the_value_and_room_for_the_platform_headers() {
        let response = (StatusCode::CREATED, Json(serde_json::json!({"status": "up"}))).into_response();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers().get(header::CONTENT_TYPE).unwrap(), "application/json");
        assert!(response.headers().capacity() >= HEADER_ROOM, "{}", response.headers().capacity());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], br#"{"status":"up"}"#);
    }

    #[tokio::test]
    async fn a_value_json_cannot_hold_is_a_problem_not_a_panic() {
        let keys_json_refuses = BTreeMap::from([((1, 2), "pair as a key")]);
        let response = Json(keys_json_refuses).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers().get(header::CONTENT_TYPE).unwrap(), "application/problem+json");
    }
}
