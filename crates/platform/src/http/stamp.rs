//! The headers the edge gives every answer (the request id, the rate limit's three, CORS's
//! `Vary: origin`), put in when the platform makes the answer rather than added afterwards.
//!
//! Why: each header added to a finished answer is an insert into its `HeaderMap`, which hashes
//! the name byte by byte (FNV; all but `Vary` are non-standard names, 12 to 21 bytes) and probes
//! the map: about 260 instructions apiece, some 1,300 of every `/health/live` request with every
//! part on, the largest single cost of the stack there (BENCHMARKS.md). An answer the platform
//! makes ([`super::answer`]: JSON and problem bodies, nearly every answer) instead starts as a
//! copy of a prepared map that already holds every one of those names, with `Content-Type`
//! and `Content-Length`, in a known order; only the values are set, in that order, and nothing
//! is hashed. While the router answers a request, the edge lends the request's [`Stamp`] to the
//! thread ([`Stamp::lend`]), where [`answer_headers`] finds it.
//!
//! An answer made some other way (axum's own, gRPC's, the edge's 429 and preflight answers, one
//! made outside the request's polls) gets the headers by insert, as before: the edge asks
//! [`Stamp::is_on`] when the answer is ready.

use std::sync::LazyLock;

use axum::{
    http::{HeaderMap, HeaderName, HeaderValue, header},
    response::Response,
};

use super::{
    observe::REQUEST_ID,
    rate_limit::{LimitHeaders, LimitNumbers},
};

/// What the edge puts on one request's answer.
#[derive(Debug)]
pub(crate) struct Stamp {
    /// `X-Request-Id`.
    pub(crate) request_id: HeaderValue,
    /// `X-RateLimit-*`, when the limit is on and was decided before the router was called.
    pub(crate) limit: Option<LimitNumbers>,
    /// `Vary: origin`, when CORS answers differ by origin.
    pub(crate) vary_origin: bool,
}

scoped_tls::scoped_thread_local!(
    /// The stamp of the request whose router future is being polled on this thread, if any.
    static LENT: Stamp
);

impl Stamp {
    /// Runs `work` (a poll of the router's answer) with this stamp lent to the thread: answers
    /// the platform makes meanwhile carry it.
    pub(crate) fn lend<R>(&self, work: impl FnOnce() -> R) -> R {
        LENT.set(self, work)
    }

    /// True when `response` was made carrying this stamp. Such an answer's second header is the
    /// request id ([`answer_headers`]); a look at that one entry is enough, where a look-up by
    /// name would hash it.
    pub(crate) fn is_on(&self, response: &Response) -> bool {
        matches!(response.headers().iter().nth(1), Some((name, id)) if *name == REQUEST_ID && *id == self.request_id)
    }

    /// Puts the stamp on an answer that was made without it.
    pub(crate) fn add_to(self, response: &mut Response) {
        if let Some(limit) = self.limit {
            limit.headers().add_to(response);
        }
        let headers = response.headers_mut();
        if self.vary_origin && !headers.get_all(header::VARY).iter().any(|value| value == "origin") {
            // Other values of `Vary` (compression's) are kept: it is a list.
            headers.append(header::VARY, HeaderValue::from_static("origin"));
        }
        headers.insert(REQUEST_ID.clone(), self.request_id);
    }

    /// Which prepared map an answer carrying this stamp starts from.
    fn shape(&self) -> usize {
        STAMPED | if self.limit.is_some() { LIMITED } else { 0 } | if self.vary_origin { VARIED } else { 0 }
    }
}

/// The headers of an answer the platform makes: `content_type`, the `content_length` of its
/// body and, while a request's router future is polled on this thread, the request's stamp.
pub(crate) fn answer_headers(content_type: HeaderValue, content_length: usize) -> HeaderMap {
    let length = HeaderValue::from(content_length);
    if !LENT.is_set() {
        let mut headers = PREPARED[0].clone();
        let mut slots = headers.values_mut();
        fill(slots.next(), content_type);
        fill(slots.next(), length);
        return headers;
    }
    LENT.with(|stamp| {
        let mut headers = PREPARED[stamp.shape()].clone();
        // In the prepared map's order; written out rather than as a chain of iterators, which
        // cost about 400 instructions more per answer.
        let mut slots = headers.values_mut();
        fill(slots.next(), content_type);
        fill(slots.next(), stamp.request_id.clone());
        if let Some(limit) = stamp.limit {
            for value in limit.headers().into_values() {
                fill(slots.next(), value);
            }
        }
        fill(slots.next(), length);
        headers
    })
}

/// Sets a prepared map's slot (there is always one: the shapes are made for the values).
fn fill(slot: Option<&mut HeaderValue>, value: HeaderValue) {
    if let Some(slot) = slot {
        *slot = value;
    }
}

/// The bits of a prepared map's shape.
const STAMPED: usize = 1;
const LIMITED: usize = 2;
const VARIED: usize = 4;

/// The prepared maps, by shape: `Content-Type`, then when stamped the request id, the limit's
/// three, `Content-Length`, then `Vary: origin` (whose value is never set). The request id is
/// second ([`Stamp::is_on`]); `Content-Length`, which compression removes, is after it, so that
/// the removal (which moves the last entry into its place) leaves the first two where they are.
/// Values are empty until set. The shapes with limit or `Vary` bits but no stamp are not used.
static PREPARED: LazyLock<[HeaderMap; 8]> = LazyLock::new(|| std::array::from_fn(prepared));

fn prepared(shape: usize) -> HeaderMap {
    let unset = || HeaderValue::from_static("");
    let stamped = shape & STAMPED != 0;
    let mut names: Vec<(HeaderName, HeaderValue)> = vec![(header::CONTENT_TYPE, unset())];
    if stamped {
        names.push((REQUEST_ID.clone(), unset()));
        if shape & LIMITED != 0 {
            names.extend(LimitHeaders::names().into_iter().map(|name| (name.clone(), unset())));
        }
    }
    names.push((header::CONTENT_LENGTH, unset()));
    if stamped && shape & VARIED != 0 {
        names.push((header::VARY, HeaderValue::from_static("origin")));
    }
    // An index with room for the headers added later (`Location`, `Link`, CORS's for
    // browsers...): a copy keeps the index's size, so it is not rebuilt. (A copy's entries have
    // no spare room, so the first header added grows them once: still cheaper than the inserts.)
    let mut headers = HeaderMap::with_capacity(12);
    headers.extend(names);
    headers
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    fn stamp(limit: bool, vary_origin: bool) -> Stamp {
        let limit = limit.then_some(LimitNumbers([100, 99, 1]));
        Stamp { request_id: HeaderValue::from_static("id-1"), limit, vary_origin }
    }

    fn answer(headers: HeaderMap) -> Response {
        let mut response = Response::new(Body::empty());
        *response.headers_mut() = headers;
        response
    }

    fn pairs(headers: &HeaderMap) -> Vec<(String, String)> {
        headers.iter().map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned())).collect()
    }

    #[test]
    fn answers_made_with_a_stamp_lent_carry_it_in_every_shape() {
        for (limit, vary_origin) in [(false, false), (true, false), (false, true), (true, true)] {
            let stamp = stamp(limit, vary_origin);
            let headers = stamp.lend(|| answer_headers(HeaderValue::from_static("application/json"), 15));
            let mut expected = vec![("content-type", "application/json"), ("x-request-id", "id-1")];
            if limit {
                expected.extend([
                    ("x-ratelimit-limit", "100"),
                    ("x-ratelimit-remaining", "99"),
                    ("x-ratelimit-reset", "1"),
                ]);
            }
            expected.push(("content-length", "15"));
            if vary_origin {
                expected.push(("vary", "origin"));
            }
            let expected: Vec<_> = expected.into_iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
            assert_eq!(pairs(&headers), expected, "limit {limit}, vary {vary_origin}");
            assert!(stamp.is_on(&answer(headers.clone())));
            // The stamp's own values answer the look-ups a handler or hyper would make.
            assert_eq!(headers[&REQUEST_ID], "id-1");
            assert_eq!(headers[header::CONTENT_LENGTH], "15");
            assert!(headers.capacity() >= 12, "{}", headers.capacity());
        }
    }

    #[test]
    fn answers_made_with_no_stamp_lent_carry_none() {
        let headers = answer_headers(HeaderValue::from_static("application/problem+json"), 0);
        assert_eq!(
            pairs(&headers),
            [("content-type".into(), "application/problem+json".into()), ("content-length".into(), "0".into())]
        );
        assert!(!stamp(true, true).is_on(&answer(headers)));
    }

    #[test]
    fn another_request_s_stamp_is_not_this_one_s() {
        let other = Stamp { request_id: HeaderValue::from_static("id-2"), limit: None, vary_origin: false };
        let headers = other.lend(|| answer_headers(HeaderValue::from_static("application/json"), 2));
        assert!(!stamp(false, false).is_on(&answer(headers)));
    }

    #[test]
    fn a_stamp_added_afterwards_gives_the_same_headers_once() {
        for made_with_stamp in [false, true] {
            let headers = if made_with_stamp {
                stamp(true, true).lend(|| answer_headers(HeaderValue::from_static("application/json"), 2))
            } else {
                answer_headers(HeaderValue::from_static("application/json"), 2)
            };
            let mut response = answer(headers);
            response.headers_mut().append(header::VARY, HeaderValue::from_static("accept-encoding"));
            stamp(true, true).add_to(&mut response);
            let headers = response.headers();
            assert_eq!(headers[&REQUEST_ID], "id-1");
            assert_eq!(headers.get_all(&REQUEST_ID).iter().count(), 1);
            assert_eq!(headers["x-ratelimit-limit"], "100");
            assert_eq!(headers["x-ratelimit-remaining"], "99");
            assert_eq!(headers["x-ratelimit-reset"], "1");
            let vary: Vec<_> = headers.get_all(header::VARY).iter().map(|v| v.to_str().unwrap()).collect();
            assert_eq!(vary.iter().filter(|v| **v == "origin").count(), 1, "{vary:?}");
            assert!(vary.contains(&"accept-encoding"), "{vary:?}");
        }
    }

    #[test]
    fn removing_the_length_leaves_the_stamp_found() {
        let stamp = stamp(true, true);
        let mut response = answer(stamp.lend(|| answer_headers(HeaderValue::from_static("application/json"), 2)));
        response.headers_mut().insert(header::LOCATION, HeaderValue::from_static("/x"));
        response.headers_mut().remove(header::CONTENT_LENGTH);
        assert!(stamp.is_on(&response));
        assert_eq!(response.headers()[header::LOCATION], "/x");
        assert_eq!(response.headers()["x-ratelimit-reset"], "1");
    }
}
