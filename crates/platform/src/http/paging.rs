//! Keyset paging, shared by every module that lists: the page size (a default and a cap), the
//! page itself (read one row more than asked, to know whether more remain), an opaque cursor,
//! and the `Link: <...>; rel="next"` header built from the external URL.
//!
//! A list handler reads like this:
//!
//! ```ignore
//! const SIZE: PageSize = PageSize::new(100, 1000);
//!
//! let limit = SIZE.of(params.limit)?;                         // 400 when below 1
//! let rows = store.list(after, limit.fetch()).await?;        // LIMIT $n with `fetch()` rows
//! let page = Page::of(rows, limit);
//! let next = page.next_key(|patient| patient.id).map(|last| {
//!     NextLink::new(&external_url, "/api/v1/patients").param("limit", limit).param("after_id", last)
//! });
//! Ok((next, Json(page.items)))                               // `Link` only when more remain
//! ```
//!
//! Keyset, not offset: each page is an index seek from the last key served, so page 1,000 costs
//! what page 1 does and a row inserted meanwhile neither repeats nor hides one.

use std::fmt;

use axum::{
    http::{HeaderValue, header},
    response::{IntoResponseParts, ResponseParts},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Serialize, de::DeserializeOwned};

/// A list's page size rule: the size served when the client names none, and the largest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageSize {
    default: u32,
    max: u32,
}

/// The number of items one page holds, within its [`PageSize`]'s bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Limit(u32);

/// What the platform refuses of a page request; a module answers it in its own shape (patients
/// with a 400 problem, care with `Invalid payload.`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    /// `limit` below 1.
    #[error("limit must be at least 1")]
    LimitTooSmall,
    /// A cursor this server did not make (or made for another list).
    #[error("the cursor is not one this server gave")]
    BadCursor,
}

impl PageSize {
    /// `default` items when the client names no size, at most `max`.
    pub const fn new(default: u32, max: u32) -> Self {
        assert!(0 < default && default <= max, "a page size needs 0 < default <= max");
        Self { default, max }
    }

    /// The limit for a requested size: the default when absent, the cap when above it (served,
    /// not refused: a client asking for "everything" gets the largest page), an error below 1.
    pub fn of(self, requested: Option<i64>) -> Result<Limit, PagingError> {
        match requested {
            None => Ok(Limit(self.default)),
            Some(n) if n < 1 => Err(PagingError::LimitTooSmall),
            Some(n) => Ok(Limit(u32::try_from(n).unwrap_or(u32::MAX).min(self.max))),
        }
    }
}

impl Limit {
    /// The items a page holds.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The rows to read for this page (`LIMIT` of the query): one more than it holds, which is
    /// how [`Page::of`] knows whether more remain without a second query.
    pub fn fetch(self) -> i64 {
        i64::from(self.0) + 1
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One page of a keyset-ordered list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// At most the limit's items, in the list's order.
    pub items: Vec<T>,
    /// Whether more items follow the last one.
    pub more: bool,
}

impl<T> Page<T> {
    /// The page of `rows` read with [`Limit::fetch`]: the extra row, when there, is dropped and
    /// says more remain.
    pub fn of(mut rows: Vec<T>, limit: Limit) -> Self {
        let more = rows.len() > limit.0 as usize;
        rows.truncate(limit.0 as usize);
        Self { items: rows, more }
    }

    /// The key of the last item, from which the next page starts; `None` on the last page.
    pub fn next_key<K>(&self, key: impl FnOnce(&T) -> K) -> Option<K> {
        if !self.more {
            return None;
        }
        self.items.last().map(key)
    }
}

/// An opaque cursor: the key of the last item served, as URL-safe base64 of its JSON. Opaque
/// so clients follow it rather than build it, which leaves the key free to change (a tie-break
/// column, say); checked on the way back in, so a mangled cursor is a 400, not a wrong page.
pub mod cursor {
    use super::*;

    /// The cursor of `key`.
    pub fn encode<K: Serialize>(key: &K) -> String {
        // Serializing a key (numbers, strings, tuples of them) cannot fail.
        let json = serde_json::to_vec(key).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// The key a cursor from [`encode`] holds.
    pub fn decode<K: DeserializeOwned>(cursor: &str) -> Result<K, PagingError> {
        let json = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| PagingError::BadCursor)?;
        serde_json::from_slice(&json).map_err(|_| PagingError::BadCursor)
    }
}

/// The `Link: <...>; rel="next"` header of a page (RFC 8288), naming the next page by the
/// server's external URL so it works behind a proxy. Put it beside the body:
/// `(Option<NextLink>, Json(items))` adds the header exactly when there is a next page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextLink {
    url: String,
    has_query: bool,
}

impl NextLink {
    /// The next page of the list at `path` (from `/`) on the server at `external_url`.
    pub fn new(external_url: &str, path: &str) -> Self {
        Self { url: format!("{}{path}", external_url.trim_end_matches('/')), has_query: false }
    }

    /// With one more query parameter, form-encoded; repeat it for a list (`tags=a&tags=b`).
    pub fn param(mut self, name: &str, value: impl fmt::Display) -> Self {
        self.url.push(if self.has_query { '&' } else { '?' });
        self.has_query = true;
        self.url.extend(url::form_urlencoded::byte_serialize(name.as_bytes()));
        self.url.push('=');
        self.url.extend(url::form_urlencoded::byte_serialize(value.to_string().as_bytes()));
        self
    }

    /// With the parameter when it has a value; a filter the client did not give stays absent.
    pub fn param_if<V: fmt::Display>(self, name: &str, value: Option<V>) -> Self {
        match value {
            Some(value) => self.param(name, value),
            None => self,
        }
    }

    /// The next page's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The header's value: `<url>; rel="next"`.
    pub fn header_value(&self) -> HeaderValue {
        // Every byte is form-encoded or from the external URL, which configuration checked.
        HeaderValue::try_from(format!("<{}>; rel=\"next\"", self.url))
            .unwrap_or_else(|_| HeaderValue::from_static("<>; rel=\"next\""))
    }
}

impl IntoResponseParts for NextLink {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut parts: ResponseParts) -> Result<ResponseParts, Self::Error> {
        parts.headers_mut().insert(header::LINK, self.header_value());
        Ok(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: PageSize = PageSize::new(100, 1000);

    #[test]
    fn a_limit_defaults_caps_and_refuses_below_one() {
        assert_eq!(SIZE.of(None), Ok(Limit(100)));
        assert_eq!(SIZE.of(Some(7)), Ok(Limit(7)));
        assert_eq!(SIZE.of(Some(1001)), Ok(Limit(1000)));
        assert_eq!(SIZE.of(Some(i64::MAX)), Ok(Limit(1000)));
        assert_eq!(SIZE.of(Some(0)), Err(PagingError::LimitTooSmall));
        assert_eq!(SIZE.of(Some(-5)).map_err(|e| e.to_string()), Err("limit must be at least 1".into()));
        assert_eq!(Limit(7).fetch(), 8);
    }

    #[test]
    fn a_page_drops_the_extra_row_and_says_more_remain() {
        let limit = Limit(3);
        let full = Page::of(vec![1, 2, 3, 4], limit);
        assert_eq!(full, Page { items: vec![1, 2, 3], more: true });
        assert_eq!(full.next_key(|n| n * 10), Some(30));
        let last = Page::of(vec![1, 2, 3], limit);
        assert_eq!(last, Page { items: vec![1, 2, 3], more: false });
        assert_eq!(last.next_key(|n| *n), None);
        assert_eq!(Page::of(Vec::<i32>::new(), limit).next_key(|n| *n), None);
    }

    #[test]
    fn a_cursor_round_trips_and_refuses_what_it_did_not_make() {
        let key = (42_i64, "2026-01-01T00:00:00Z".to_owned());
        let cursor = cursor::encode(&key);
        assert!(cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{cursor}");
        assert_eq!(cursor::decode::<(i64, String)>(&cursor), Ok(key));
        assert_eq!(cursor::decode::<i64>(&cursor), Err(PagingError::BadCursor));
        assert_eq!(cursor::decode::<i64>("not a cursor!"), Err(PagingError::BadCursor));
        assert_eq!(cursor::decode::<i64>(&cursor::encode(&7_i64)), Ok(7));
    }

    #[test]
    fn a_next_link_encodes_its_parameters_under_the_external_url() {
        let link = NextLink::new("https://api.example/", "/v1/api/chirps")
            .param("limit", Limit(10))
            .param("tags", "a b")
            .param("tags", "c&d")
            .param_if("author", None::<&str>)
            .param_if("before_id", Some(42));
        assert_eq!(link.url(), "https://api.example/v1/api/chirps?limit=10&tags=a+b&tags=c%26d&before_id=42");
        assert_eq!(
            link.header_value(),
            "<https://api.example/v1/api/chirps?limit=10&tags=a+b&tags=c%26d&before_id=42>; rel=\"next\""
        );
    }
}
