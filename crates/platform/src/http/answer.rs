//! JSON answers made with the headers the platform adds on the way out already in place.
//!
//! An axum answer starts with an empty header map; the router adds `Content-Length` and the
//! edge up to seven more (the request id, the rate limit's three, CORS's up to three), each an
//! insert that hashes its name and probes the map, and the seventh grew the map. An answer
//! made here starts from a prepared map holding the platform's headers with this request's
//! values, its index sized for a few of the handler's own ([`super::stamp`] says how, and what
//! it saves).

use axum::{
    body::Body,
    http::{HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use bytes::{BufMut as _, Bytes, BytesMut};
use serde::Serialize;

use super::{Json, Problem, stamp};

/// An answer of `status` with `body` of `content_type` and the platform's headers.
pub(crate) fn with_room(status: StatusCode, content_type: HeaderValue, body: Bytes) -> Response {
    let headers = stamp::answer_headers(content_type, body.len());
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

    use axum::http::header;
    use http_body_util::BodyExt as _;

    use super::*;

    #[tokio::test]
    async fn json_answers_carry_the_value_and_room_for_the_platform_headers() {
        let response = (StatusCode::CREATED, Json(serde_json::json!({"status": "up"}))).into_response();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers().get(header::CONTENT_TYPE).unwrap(), "application/json");
        assert_eq!(response.headers().get(header::CONTENT_LENGTH).unwrap(), "15");
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
