//! Request bodies read as they arrive, for routes that take large ones (a bulk import, under
//! limits it raised for itself, [`super::limits`]): [`StreamedBody`] gives the body as chunks,
//! whole within the cap, or as NDJSON one line at a time ([`NdjsonLines`]), so a handler
//! validates row by row and never holds the raw body twice. The route's cap holds throughout:
//! the guard reads every body through it, and crossing it mid-stream is the platform's 413
//! ([`Rejection::TooLarge`]), after which the rest of the body is read and dropped as for any
//! 413 (`linger`).
//!
//! NDJSON, as the reader reads it: lines end at `\n`, a `\r` before it is dropped (CRLF), the
//! last line needs no `\n`, and blank lines (nothing, or only spaces and tabs) are skipped, as
//! the NDJSON spec lets a parser do, since editors and `cat`ed files leave them; line numbers
//! count them all, so a message names the line a person sees. A line that is not UTF-8 is 400
//! ([`Rejection::NotUtf8`]); a line of malformed or misshapen JSON, decoded with
//! [`Line::decode`], is 400 or 422 naming the line.

use std::error::Error as _;

use axum::{
    body::{Body, BodyDataStream},
    extract::{FromRequest, Request},
    http::StatusCode,
};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt as _, TryStreamExt};
use http_body_util::{BodyExt as _, LengthLimitError};
use serde::de::DeserializeOwned;

use super::{
    extract::{Within, decode_json_in},
    rejection::Rejection,
};

/// The request body, unread, under its route's cap: an extractor for handlers that read large
/// bodies as they arrive (see the module documentation). It takes the body, so it is the
/// handler's last argument; it never rejects.
#[derive(Debug)]
pub struct StreamedBody(Body);

impl<S: Send + Sync> FromRequest<S> for StreamedBody {
    type Rejection = Rejection;

    async fn from_request(request: Request, _: &S) -> Result<Self, Rejection> {
        Ok(Self(request.into_body()))
    }
}

impl StreamedBody {
    /// The body as the client sends it, chunk by chunk; an error ends it.
    pub fn chunks(self) -> impl Stream<Item = Result<Bytes, Rejection>> + Send {
        TryStreamExt::map_err(self.0.into_data_stream(), read_error)
    }

    /// The whole body, read within the cap: for a JSON array, visited element by element with
    /// [`for_each_json_element`](super::extract::for_each_json_element).
    pub async fn bytes(self) -> Result<Bytes, Rejection> {
        self.0.collect().await.map(|collected| collected.to_bytes()).map_err(read_error)
    }

    /// The body as NDJSON, one line at a time.
    pub fn ndjson(self) -> NdjsonLines {
        NdjsonLines { body: self.0.into_data_stream(), buffer: BytesMut::new(), scanned: 0, line: 0, ended: false }
    }
}

/// The rejection of a body that could not be read: 413 once it crossed the cap, else 400 (the
/// client stopped sending, say).
fn read_error(error: axum::Error) -> Rejection {
    let mut causes = std::iter::successors(error.source(), |cause| (*cause).source());
    let over_cap = causes.any(|cause| cause.is::<LengthLimitError>());
    if over_cap {
        return Rejection::TooLarge;
    }
    Rejection::UnreadableBody {
        status: StatusCode::BAD_REQUEST,
        detail: format!("cannot read the request body: {error}"),
    }
}

/// A body read as NDJSON, one line at a time ([`StreamedBody::ndjson`]; the module
/// documentation says how lines are read). It holds one partly read line and one chunk at most.
#[derive(Debug)]
pub struct NdjsonLines {
    body: BodyDataStream,
    /// What has arrived and is not yet a line returned.
    buffer: BytesMut,
    /// How much of `buffer` is known to hold no `\n`: a long line is searched once, not once
    /// per chunk.
    scanned: usize,
    /// The number of the last line taken from `buffer`.
    line: u64,
    /// The body is read to its end, or failed.
    ended: bool,
}

/// One line of an NDJSON body, without its line end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Its number in the body, from 1, blank lines counted.
    pub number: u64,
    /// Its text.
    pub text: String,
}

impl Line {
    /// The line's JSON as `T`: malformed JSON is 400 and a value of the wrong shape 422, each
    /// naming the line (`line 3`, `line 3.type_id`).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, Rejection> {
        decode_json_in(self.text.as_bytes(), Within::Line(self.number))
    }
}

impl NdjsonLines {
    /// The next line that is not blank; `None` at the end of the body. A body that cannot be
    /// read (413 over the cap) ends the lines with its error; a line that is not UTF-8 is an
    /// error, and the lines after it follow.
    pub async fn next_line(&mut self) -> Option<Result<Line, Rejection>> {
        loop {
            if let Some(end) = memchr::memchr(b'\n', self.buffer.get(self.scanned..).unwrap_or_default()) {
                let raw = self.buffer.split_to(self.scanned + end + 1);
                self.scanned = 0;
                match self.line_of(raw.strip_suffix(b"\n").unwrap_or(&raw)) {
                    Some(line) => return Some(line),
                    None => continue,
                }
            }
            if self.ended {
                if self.buffer.is_empty() {
                    return None;
                }
                let raw = self.buffer.split();
                self.scanned = 0;
                match self.line_of(&raw) {
                    Some(line) => return Some(line),
                    None => continue,
                }
            }
            self.scanned = self.buffer.len();
            match self.body.next().await {
                Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                Some(Err(error)) => {
                    self.ended = true;
                    self.buffer.clear();
                    self.scanned = 0;
                    return Some(Err(read_error(error)));
                }
                None => self.ended = true,
            }
        }
    }

    /// The next line, `raw` without its `\n`: `None` when blank.
    fn line_of(&mut self, raw: &[u8]) -> Option<Result<Line, Rejection>> {
        self.line += 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(|byte| matches!(byte, b' ' | b'\t')) {
            return None;
        }
        let number = self.line;
        Some(match std::str::from_utf8(raw) {
            Ok(text) => Ok(Line { number, text: text.to_owned() }),
            Err(_) => Err(Rejection::NotUtf8 { line: number }),
        })
    }
}

#[cfg(test)]
mod tests {
    use futures_util::stream;
    use http_body_util::Limited;
    use serde::Deserialize;

    use super::*;

    /// The body of `chunks`, as a client sends them, under a cap of `cap` bytes as the guard
    /// puts it.
    fn body(chunks: &[&'static [u8]], cap: usize) -> StreamedBody {
        let chunks = chunks.iter().map(|chunk| Ok::<_, std::io::Error>(Bytes::from_static(chunk))).collect::<Vec<_>>();
        let chunks = stream::iter(chunks);
        StreamedBody(Body::new(Limited::new(Body::from_stream(chunks), cap)))
    }

    /// Every line, or the first error.
    async fn lines(chunks: &[&'static [u8]]) -> Vec<Result<Line, Rejection>> {
        let mut lines = body(chunks, 1 << 20).ndjson();
        let mut read = Vec::new();
        while let Some(line) = lines.next_line().await {
            read.push(line);
        }
        read
    }

    fn line(number: u64, text: &str) -> Result<Line, Rejection> {
        Ok(Line { number, text: text.to_owned() })
    }

    #[tokio::test]
    async fn reads_lines_across_chunks_with_or_without_a_last_line_end() {
        let read = lines(&[b"{\"a\":1}\n{\"a\"", b":2}\n", b"{\"a\":3}"]).await;
        assert_eq!(read, [line(1, "{\"a\":1}"), line(2, "{\"a\":2}"), line(3, "{\"a\":3}")]);
        let read = lines(&[b"{\"a\":1}\n"]).await;
        assert_eq!(read, [line(1, "{\"a\":1}")]);
        assert_eq!(lines(&[]).await, []);
    }

    #[tokio::test]
    async fn drops_the_cr_of_crlf_even_split_from_its_lf() {
        let read = lines(&[b"one\r\ntwo\r", b"\nthree\r\n"]).await;
        assert_eq!(read, [line(1, "one"), line(2, "two"), line(3, "three")]);
        // A CR inside a line is the line's.
        assert_eq!(lines(&[b"a\rb\n"]).await, [line(1, "a\rb")]);
    }

    #[tokio::test]
    async fn skips_blank_lines_but_counts_them() {
        let read = lines(&[b"\n one\n\r\n \t \n", b"\ntwo\n\n"]).await;
        assert_eq!(read, [line(2, " one"), line(6, "two")]);
        assert_eq!(lines(&[b"\n\r\n  "]).await, []);
    }

    #[tokio::test]
    async fn a_line_that_is_not_utf8_is_400_naming_it_and_the_next_ones_follow() {
        // "é" split across two chunks is still one character.
        let read = lines(&[b"caf\xc3", b"\xa9\nbad \xff\nlast"]).await;
        assert_eq!(read[0], line(1, "café"));
        let refused = read[1].clone().unwrap_err();
        assert_eq!(refused, Rejection::NotUtf8 { line: 2 });
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert_eq!(refused.to_string(), "line 2 of the request body is not UTF-8");
        assert_eq!(read[2], line(3, "last"));
    }

    #[tokio::test]
    async fn crossing_the_cap_mid_stream_is_the_platform_s_413_and_ends_the_lines() {
        let mut lines = body(&[b"{\"a\":1}\n{\"a\":", b"2}\n{\"a\":3}\n"], 16).ndjson();
        assert_eq!(lines.next_line().await, Some(line(1, "{\"a\":1}")));
        let refused = lines.next_line().await.unwrap().unwrap_err();
        assert_eq!(refused, Rejection::TooLarge);
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(refused.to_string(), "the request body is larger than the configured limit");
        assert_eq!(lines.next_line().await, None);
    }

    #[tokio::test]
    async fn chunks_and_bytes_keep_to_the_cap() {
        let chunks: Vec<_> = body(&[b"0123", b"4567"], 8).chunks().collect().await;
        assert_eq!(chunks, [Ok(Bytes::from_static(b"0123")), Ok(Bytes::from_static(b"4567"))]);
        let chunks: Vec<_> = body(&[b"0123", b"45678"], 8).chunks().collect().await;
        assert_eq!(chunks, [Ok(Bytes::from_static(b"0123")), Err(Rejection::TooLarge)]);
        assert_eq!(body(&[b"0123", b"4567"], 8).bytes().await, Ok(Bytes::from_static(b"01234567")));
        assert_eq!(body(&[b"0123", b"45678"], 8).bytes().await, Err(Rejection::TooLarge));
    }

    #[tokio::test]
    async fn a_body_that_breaks_off_is_400() {
        let broken = stream::iter([Ok(Bytes::from_static(b"{}\n")), Err(std::io::Error::other("reset"))]);
        let mut lines = StreamedBody(Body::from_stream(broken)).ndjson();
        assert_eq!(lines.next_line().await, Some(line(1, "{}")));
        let refused = lines.next_line().await.unwrap().unwrap_err();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(refused.to_string().starts_with("cannot read the request body: "), "{refused}");
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Event {
        type_id: u32,
    }

    #[test]
    fn a_line_decodes_with_errors_that_name_it() {
        let good = Line { number: 3, text: r#"{"type_id": 7}"#.into() };
        assert_eq!(good.decode::<Event>(), Ok(Event { type_id: 7 }));
        let misshapen = Line { number: 3, text: r#"{"type_id": "seven"}"#.into() }.decode::<Event>().unwrap_err();
        assert_eq!(misshapen.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let Rejection::InvalidJson { field, .. } = &misshapen else { panic!("{misshapen:?}") };
        assert_eq!(field, "line 3.type_id");
        let whole = Line { number: 4, text: r#""seven""#.into() }.decode::<Event>().unwrap_err();
        let Rejection::InvalidJson { field, .. } = &whole else { panic!("{whole:?}") };
        assert_eq!(field, "line 4");
        let malformed = Line { number: 5, text: r#"{"type_id": }"#.into() }.decode::<Event>().unwrap_err();
        assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
        assert_eq!(malformed.to_string(), "malformed JSON: expected value at line 5 column 13");
    }
}
