//! Extractors whose rejections are [`Rejection`]s, problem+json answers by default, so
//! handlers never write parsing code; a module renders them in its own shape by converting the
//! rejection (see [`super::rejection`]).

use axum::{
    extract::{
        FromRequest, FromRequestParts, Request,
        rejection::{BytesRejection, PathRejection, QueryRejection},
    },
    http::{StatusCode, header, request::Parts},
};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::rejection::Rejection;

/// A JSON body (`application/json` or `application/*+json`).
///
/// Malformed JSON is 400, a wrong content type 415, a body over the cap 413 (declared or
/// chunked: the cap is enforced while reading), and JSON of the wrong shape 422 naming the field
/// (each a [`Rejection`]).
/// As an answer, `application/json` with room for the platform's headers (`answer`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// Like [`Json`], but also accepts `application/x-www-form-urlencoded` holding raw JSON, which is
/// what `curl --data '{...}'` sends (compatibility with the original Ferrum's clients).
#[derive(Debug, Clone, Copy, Default)]
pub struct LenientJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Rejection> {
        parse_json_body(req, state, false).await.map(Json)
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for LenientJson<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Rejection> {
        parse_json_body(req, state, true).await.map(LenientJson)
    }
}

async fn parse_json_body<T: DeserializeOwned, S: Send + Sync>(
    req: Request,
    state: &S,
    form_too: bool,
) -> Result<T, Rejection> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !accepts(content_type, form_too) {
        let expected = if form_too { "application/json (or curl --data JSON)" } else { "application/json" };
        return Err(Rejection::UnsupportedMediaType { expected });
    }
    let bytes = Bytes::from_request(req, state).await.map_err(body_rejection)?;
    decode_json(&bytes)
}

/// Decodes JSON, telling a malformed document (400) from a well-formed one of the wrong shape
/// (422, with the path of the offending field).
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Rejection> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." { "body".to_owned() } else { path };
                Rejection::InvalidJson { field, message: strip_position(&inner.to_string()) }
            }
            _ => malformed(&inner),
        }
    })?;
    deserializer.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(error: &serde_json::Error) -> Rejection {
    Rejection::MalformedJson { detail: error.to_string() }
}

fn strip_position(message: &str) -> String {
    message.split(" at line ").next().unwrap_or(message).to_owned()
}

fn accepts(content_type: &str, form_too: bool) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
        || (form_too && essence == "application/x-www-form-urlencoded")
}

fn body_rejection(rejection: BytesRejection) -> Rejection {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        Rejection::TooLarge
    } else {
        Rejection::UnreadableBody { status, detail: rejection.body_text() }
    }
}

/// Path parameters; a value of the wrong type (`/patients/abc`) is 400 ([`Rejection::InvalidPath`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection: PathRejection| {
                let text = rejection.body_text();
                Rejection::InvalidPath { detail: text.trim_start_matches("Invalid URL: ").to_owned() }
            })
    }
}

/// Query parameters; a value of the wrong type is 400 ([`Rejection::InvalidQuery`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection: QueryRejection| Rejection::InvalidQuery { detail: rejection.body_text() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
    }

    #[test]
    fn tells_malformed_from_misshapen() {
        assert_eq!(decode_json::<Body>(b"{\"name\":").unwrap_err().status(), StatusCode::BAD_REQUEST);
        assert_eq!(decode_json::<Body>(b"{\"name\":\"x\"} trailing").unwrap_err().status(), StatusCode::BAD_REQUEST);
        let wrong = decode_json::<Body>(b"{\"name\":5}").unwrap_err();
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(decode_json::<Body>(b"{\"name\":\"x\",\"extra\":1}").is_ok());
    }

    #[test]
    fn content_types() {
        assert!(accepts("application/json; charset=utf-8", false));
        assert!(accepts("application/merge-patch+json", false));
        assert!(!accepts("application/x-www-form-urlencoded", false));
        assert!(accepts("application/x-www-form-urlencoded", true));
        assert!(!accepts("text/plain", true));
        assert!(!accepts("", true));
    }
}
