//! Extractors whose rejections are [`Rejection`]s, problem+json answers by default, so
//! handlers never write parsing code; a module renders them in its own shape by converting the
//! rejection (see [`super::rejection`]).

use std::{fmt, marker::PhantomData};

use axum::{
    extract::{
        FromRequest, FromRequestParts, Request,
        rejection::{BytesRejection, PathRejection, QueryRejection},
    },
    http::{StatusCode, header, request::Parts},
};
use bytes::Bytes;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde_json::error::Category;

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
    decode_json_in(bytes, Within::Body)
}

/// Where a JSON document sits, for the messages of its rejections.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Within {
    /// It is the whole body: the root is `body`, positions are the parser's.
    Body,
    /// It is this line of the body (NDJSON): the root is `line 3`, positions are on that line.
    Line(u64),
}

/// [`decode_json`] of a document `within` the body.
pub(crate) fn decode_json_in<T: DeserializeOwned>(bytes: &[u8], within: Within) -> Result<T, Rejection> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let mut track = serde_path_to_error::Track::new();
    let value = T::deserialize(serde_path_to_error::Deserializer::new(&mut deserializer, &mut track))
        .map_err(|error| json_rejection(&track.path().to_string(), &error, within))?;
    deserializer.end().map_err(|error| json_rejection(".", &error, within))?;
    Ok(value)
}

/// Visits the elements of a JSON array one at a time, in order, without building the array:
/// `each` gets each element's index and value and may stop the visit with its own error. A
/// bulk body collected within its route's cap (`StreamedBody::bytes`) is then held once, as
/// bytes, while the elements are validated and kept in whatever form the module stores.
/// Malformed JSON is 400; a body that is not an array, or an element of the wrong shape, is 422
/// naming the element (`[3].type_id`), as for [`decode_json`]. Returns the number of elements.
pub fn for_each_json_element<T, E>(bytes: &[u8], mut each: impl FnMut(usize, T) -> Result<(), E>) -> Result<usize, E>
where
    T: DeserializeOwned,
    E: From<Rejection>,
{
    let mut stopped = None;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let mut track = serde_path_to_error::Track::new();
    let elements = Elements { each: &mut each, stopped: &mut stopped, element: PhantomData };
    let visited = elements.deserialize(serde_path_to_error::Deserializer::new(&mut deserializer, &mut track));
    if let Some(error) = stopped {
        return Err(error);
    }
    let count = visited.map_err(|error| json_rejection(&track.path().to_string(), &error, Within::Body))?;
    deserializer.end().map_err(|error| json_rejection(".", &error, Within::Body))?;
    Ok(count)
}

/// The seed and visitor of [`for_each_json_element`]; `each`'s error waits in `stopped` while
/// serde unwinds with an error of its own.
struct Elements<'a, T, E, F> {
    each: &'a mut F,
    stopped: &'a mut Option<E>,
    element: PhantomData<fn() -> T>,
}

impl<'de, T, E, F> DeserializeSeed<'de> for Elements<'_, T, E, F>
where
    T: DeserializeOwned,
    F: FnMut(usize, T) -> Result<(), E>,
{
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T, E, F> Visitor<'de> for Elements<'_, T, E, F>
where
    T: DeserializeOwned,
    F: FnMut(usize, T) -> Result<(), E>,
{
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut elements: A) -> Result<usize, A::Error> {
        let mut index = 0;
        while let Some(element) = elements.next_element::<T>()? {
            if let Err(error) = (self.each)(index, element) {
                *self.stopped = Some(error);
                return Err(de::Error::custom("stopped by the caller"));
            }
            index += 1;
        }
        Ok(index)
    }
}

/// The rejection of a JSON `error` at `path` (`.` for the root) of a document `within` the body.
fn json_rejection(path: &str, error: &serde_json::Error, within: Within) -> Rejection {
    if error.classify() != Category::Data {
        return match within {
            Within::Body => malformed(error),
            Within::Line(line) => Rejection::MalformedJson {
                detail: format!("{} at line {line} column {}", strip_position(&error.to_string()), error.column()),
            },
        };
    }
    let field = match (within, path) {
        (Within::Body, ".") => "body".to_owned(),
        (Within::Body, path) => path.to_owned(),
        (Within::Line(line), ".") => format!("line {line}"),
        (Within::Line(line), path) if path.starts_with('[') => format!("line {line}{path}"),
        (Within::Line(line), path) => format!("line {line}.{path}"),
    };
    Rejection::InvalidJson { field, message: strip_position(&error.to_string()) }
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
    fn visits_array_elements_in_order() {
        let mut seen = Vec::new();
        let count = for_each_json_element(br#"[{"name":"a"}, {"name":"b"}]"#, |index, body: Body| {
            seen.push((index, body.name));
            Ok::<_, Rejection>(())
        });
        assert_eq!(count, Ok(2));
        assert_eq!(seen, [(0, "a".to_owned()), (1, "b".to_owned())]);
        assert_eq!(for_each_json_element(b" [] ", |_, _: Body| Ok::<_, Rejection>(())), Ok(0));
    }

    #[test]
    fn an_element_of_the_wrong_shape_is_named() {
        let error = for_each_json_element(br#"[{"name":"a"}, {"name":5}]"#, |_, _: Body| Ok::<_, Rejection>(()));
        let Err(Rejection::InvalidJson { field, .. }) = error else { panic!("{error:?}") };
        assert_eq!(field, "[1].name");
        let error = for_each_json_element(br#"{"name":"a"}"#, |_, _: Body| Ok::<_, Rejection>(()));
        let Err(Rejection::InvalidJson { field, message }) = error else { panic!("{error:?}") };
        assert_eq!((field.as_str(), message.as_str()), ("body", "invalid type: map, expected a JSON array"));
        for malformed in [&b"[{\"name\":\"a\"}"[..], b"[] []", b""] {
            let error = for_each_json_element(malformed, |_, _: Body| Ok::<_, Rejection>(())).unwrap_err();
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{error:?}");
        }
    }

    /// A module's error: the platform's rejections, or its own.
    #[derive(Debug, PartialEq)]
    enum ModuleError {
        Rejected(Rejection),
        Nameless(usize),
    }

    impl From<Rejection> for ModuleError {
        fn from(rejection: Rejection) -> Self {
            ModuleError::Rejected(rejection)
        }
    }

    #[test]
    fn the_caller_s_error_stops_the_visit() {
        let mut visited = 0;
        let stopped = for_each_json_element(br#"[{"name":"a"}, {"name":""}, {"name":"c"}]"#, |index, body: Body| {
            visited += 1;
            if body.name.is_empty() { Err(ModuleError::Nameless(index)) } else { Ok(()) }
        });
        assert_eq!(stopped, Err(ModuleError::Nameless(1)));
        assert_eq!(visited, 2);
        let malformed = for_each_json_element(b"[", |_, _: Body| Ok::<_, ModuleError>(()));
        assert!(matches!(malformed, Err(ModuleError::Rejected(Rejection::MalformedJson { .. }))), "{malformed:?}");
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
