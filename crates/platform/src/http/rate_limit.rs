//! Per-client rate limits (SPEC 1.7) with GCRA, the generic cell rate algorithm: one stored
//! number per client (its theoretical arrival time), exact bursts, no background refills.
//!
//! The client is the verified token's subject, else the IP (the peer, or the last address of a
//! configured proxy header). State lives in this process, or in Redis so that replicas share
//! one limit; Redis runs the algorithm in a script on its own clock, so replica clocks need
//! not agree. When Redis cannot be reached, requests are let through and a warning is logged:
//! an outage of the limiter must not become an outage of the API.

use std::{
    cell::RefCell,
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use dashmap::DashMap;
use futures_util::future::BoxFuture;

use super::problem::Problem;
use crate::auth::{self, AuthKeys};

/// `N` requests per period, per client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per period (and in one burst).
    pub requests: u32,
    /// The period.
    pub period: Duration,
}

/// Reads `N-S`, `N-M`, `N-H` or `N-D` (per second, minute, hour, day).
pub fn parse_rate_limit(text: &str) -> Result<RateLimit, String> {
    let expected = || "expected N-S, N-M, N-H or N-D (requests per second, minute, hour, day), e.g. 100-M".to_string();
    let (count, unit) = text.trim().split_once('-').ok_or_else(expected)?;
    let requests: u32 = count.trim().parse().ok().filter(|n| *n > 0).ok_or_else(expected)?;
    let seconds = match unit.trim().to_ascii_uppercase().as_str() {
        "S" => 1,
        "M" => 60,
        "H" => 3_600,
        "D" => 86_400,
        _ => return Err(expected()),
    };
    Ok(RateLimit { requests, period: Duration::from_secs(seconds) })
}

/// What one request's check decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Decision {
    allowed: bool,
    /// Microseconds until the client's allowance is whole again.
    until_reset: u64,
    /// Microseconds until a request would be allowed (0 when allowed).
    retry_after: u64,
}

/// Whom a request counts against: the verified token's subject, else the client's address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Client {
    Subject(Box<str>),
    Ip(IpAddr),
    /// A trusted proxy's header naming something that is not an address.
    Named(Box<str>),
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Subject(subject) => write!(f, "sub:{subject}"),
            Self::Ip(ip) => write!(f, "ip:{ip}"),
            Self::Named(name) => write!(f, "ip:{name}"),
        }
    }
}

/// The rate limiter shared by every request.
#[derive(Debug)]
pub struct RateLimiter {
    /// Requests per period: `X-RateLimit-Limit`, the same on every answer.
    requests: u64,
    interval: u64,
    tolerance: u64,
    store: Store,
    keys: Arc<AuthKeys>,
    client_header: Option<HeaderName>,
}

#[derive(Debug)]
enum Store {
    Local { started: Instant, tats: DashMap<Client, u64, foldhash::fast::RandomState>, checks: AtomicU64 },
    Redis { connection: redis::aio::ConnectionManager, script: redis::Script, peek: redis::Script },
}

/// GCRA in one round trip. KEYS[1]: the client; ARGV: emission interval and burst tolerance in
/// microseconds. Returns {allowed, until_reset, retry_after} in microseconds.
const GCRA_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if now < tat - tolerance then
  return {0, tat - now, tat - tolerance - now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return {1, new_tat - now, 0}
";

/// The client's allowance without counting a request (for the exempt routes). KEYS[1]: the
/// client. Returns the microseconds until its allowance is whole again.
const PEEK_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then return 0 end
return tat - now
";

/// The longest an exempt request waits for Redis to tell its client's allowance: a probe must
/// answer in time even when Redis does not (it then reports a whole allowance).
const PEEK_TIMEOUT: Duration = Duration::from_millis(100);

impl RateLimiter {
    /// A limiter keeping its state in this process.
    pub fn local(limit: RateLimit, keys: Arc<AuthKeys>, client_header: Option<HeaderName>) -> Self {
        let tats = DashMap::with_hasher(foldhash::fast::RandomState::default());
        let store = Store::Local { started: Instant::now(), tats, checks: AtomicU64::new(0) };
        Self::with_store(limit, store, keys, client_header)
    }

    /// A limiter keeping its state in Redis, shared by every replica using the same Redis.
    pub async fn redis(
        limit: RateLimit,
        url: &str,
        keys: Arc<AuthKeys>,
        client_header: Option<HeaderName>,
    ) -> Result<Self, redis::RedisError> {
        // A slow Redis must not hold requests: past these bounds the request is let through.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_millis(250)))
            .set_number_of_retries(2);
        let connection = redis::Client::open(url)?.get_connection_manager_with_config(config).await?;
        let store =
            Store::Redis { connection, script: redis::Script::new(GCRA_LUA), peek: redis::Script::new(PEEK_LUA) };
        Ok(Self::with_store(limit, store, keys, client_header))
    }

    fn with_store(limit: RateLimit, store: Store, keys: Arc<AuthKeys>, client_header: Option<HeaderName>) -> Self {
        let interval = (limit.period.as_micros() / u128::from(limit.requests)).max(1) as u64;
        let tolerance = interval * u64::from(limit.requests - 1);
        Self { requests: limit.requests.into(), interval, tolerance, store, keys, client_header }
    }

    /// The decision for `client` when the state is in this process; `None` when it is in Redis
    /// and [`Self::check_in_redis`] must wait for it.
    fn check_here(&self, client: &Client, arrived: Instant) -> Option<Decision> {
        let Store::Local { started, tats, checks } = &self.store else { return None };
        let now = arrived.saturating_duration_since(*started).as_micros() as u64;
        if checks.fetch_add(1, Ordering::Relaxed) % 10_000 == 9_999 {
            // Forget clients whose allowance is whole again; bounds the map.
            tats.retain(|_, tat| *tat > now);
        }
        // Looked up by reference first: the key is copied only for a client not seen before.
        if let Some(mut tat) = tats.get_mut(client) {
            let (decision, new_tat) = gcra(*tat, now, self.interval, self.tolerance);
            *tat = new_tat;
            return Some(decision);
        }
        let mut tat = tats.entry(client.clone()).or_insert(now);
        let (decision, new_tat) = gcra(*tat, now, self.interval, self.tolerance);
        *tat = new_tat;
        Some(decision)
    }

    /// `client`'s allowance as it stands, counting nothing, when the state is in this process;
    /// `None` when it is in Redis and [`Self::peek_in_redis`] must ask.
    fn peek_here(&self, client: &Client, arrived: Instant) -> Option<Decision> {
        let Store::Local { started, tats, .. } = &self.store else { return None };
        let now = arrived.saturating_duration_since(*started).as_micros() as u64;
        let tat = tats.get(client).map_or(now, |tat| *tat);
        Some(Decision { allowed: true, until_reset: tat.saturating_sub(now), retry_after: 0 })
    }

    /// `client`'s allowance as it stands in Redis, counting nothing; a whole allowance when Redis
    /// does not answer within [`PEEK_TIMEOUT`].
    async fn peek_in_redis(&self, client: Client) -> Decision {
        let whole = Decision { allowed: true, until_reset: 0, retry_after: 0 };
        let Store::Redis { connection, peek, .. } = &self.store else { return whole };
        let mut connection = connection.clone();
        let key = format!("ferrum:rate:{client}");
        let asked = tokio::time::timeout(PEEK_TIMEOUT, peek.key(key).invoke_async::<u64>(&mut connection)).await;
        match asked {
            Ok(Ok(until_reset)) => Decision { until_reset, ..whole },
            Ok(Err(error)) => {
                tracing::warn!(%error, "rate limiter unavailable; reporting a whole allowance");
                whole
            }
            Err(_) => whole,
        }
    }

    /// The decision for `client` from Redis; a request is let through when Redis cannot answer
    /// (and when the state is in this process, which [`Self::check_here`] decides).
    async fn check_in_redis(&self, client: Client) -> Decision {
        let let_through = Decision { allowed: true, until_reset: 0, retry_after: 0 };
        match &self.store {
            Store::Local { .. } => let_through,
            Store::Redis { connection, script, .. } => {
                let mut connection = connection.clone();
                let key = format!("ferrum:rate:{client}");
                let answer: Result<(u8, u64, u64), _> =
                    script.key(key).arg(self.interval).arg(self.tolerance).invoke_async(&mut connection).await;
                match answer {
                    Ok((allowed, until_reset, retry_after)) => {
                        Decision { allowed: allowed == 1, until_reset, retry_after }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "rate limiter unavailable; letting the request through");
                        let_through
                    }
                }
            }
        }
    }

    /// The client a request counts against: the subject of a valid token, else the address
    /// (the trusted proxy's header when configured, else the connection's `peer`).
    fn client_of(&self, request: &mut Request, peer: Option<IpAddr>) -> Client {
        if let Ok(claims) = auth::bearer(request).and_then(|token| self.keys.verify(token)) {
            let subject = claims.sub.as_deref().map(Box::from);
            // The route's guard reuses the verified claims instead of verifying again.
            request.extensions_mut().insert(claims);
            if let Some(subject) = subject {
                return Client::Subject(subject);
            }
        }
        let forwarded = self.client_header.as_ref().and_then(|name| request.headers().get(name)).and_then(|value| {
            // The last address is the one our trusted proxy saw; earlier ones are the client's word.
            Some(value.to_str().ok()?.rsplit(',').next()?.trim()).filter(|ip| !ip.is_empty())
        });
        if let Some(forwarded) = forwarded {
            return forwarded.parse().map_or_else(|_| Client::Named(forwarded.into()), Client::Ip);
        }
        peer.map_or_else(|| Client::Named("".into()), Client::Ip)
    }

    /// The `X-RateLimit-*` numbers for a decision.
    fn numbers(&self, decision: &Decision) -> LimitNumbers {
        let remaining = if decision.allowed {
            (self.tolerance + self.interval).saturating_sub(decision.until_reset) / self.interval
        } else {
            0
        };
        LimitNumbers([self.requests, remaining, decision.until_reset.div_ceil(1_000_000)])
    }
}

/// What the `X-RateLimit-*` headers say: the limit, the requests remaining, and the seconds until
/// the allowance is whole again. Kept as numbers until an answer takes the headers: the edge's
/// record of a request is 96 bytes smaller, and the headers are cloned once, not twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LimitNumbers(pub(crate) [u64; 3]);

impl LimitNumbers {
    /// The headers that say these numbers.
    pub(crate) fn headers(self) -> LimitHeaders {
        LimitHeaders::of(self.0)
    }
}

thread_local! {
    /// The last `X-RateLimit-*` values made on this thread, with their numbers (limit,
    /// remaining, reset): consecutive answers mostly repeat them (probes, which count nothing,
    /// the same client's next request within a second), and a header made anew is an
    /// allocation and a free, a clone is not. One look-up for the three: as two it cost about
    /// 150 instructions more per request (BENCHMARKS.md).
    static LAST_HEADERS: RefCell<Option<([u64; 3], LimitHeaders)>> = const { RefCell::new(None) };
}

/// The `X-RateLimit-*` headers of one answer.
#[derive(Clone, Debug)]
pub(crate) struct LimitHeaders {
    limit: HeaderValue,
    remaining: HeaderValue,
    reset: HeaderValue,
}

impl LimitHeaders {
    /// The headers for `[limit, remaining, reset]`, reusing the thread's last values that are
    /// the same.
    pub(crate) fn of(numbers: [u64; 3]) -> Self {
        LAST_HEADERS.with_borrow_mut(|last| {
            if let Some((made, headers)) = last.as_ref() {
                if *made == numbers {
                    return headers.clone();
                }
            }
            let reuse = |at: usize, value: fn(&LimitHeaders) -> &HeaderValue| match last.as_ref() {
                Some((made, headers)) if made[at] == numbers[at] => value(headers).clone(),
                _ => HeaderValue::from(numbers[at]),
            };
            let headers = Self {
                limit: reuse(0, |h| &h.limit),
                remaining: reuse(1, |h| &h.remaining),
                reset: reuse(2, |h| &h.reset),
            };
            *last = Some((numbers, headers.clone()));
            headers
        })
    }

    pub(crate) fn add_to(self, response: &mut Response) {
        let headers = response.headers_mut();
        headers.insert(LIMIT.clone(), self.limit);
        headers.insert(REMAINING.clone(), self.remaining);
        headers.insert(RESET.clone(), self.reset);
    }

    /// The headers' names, in the order of [`Self::into_values`].
    pub(crate) fn names() -> [&'static HeaderName; 3] {
        [&LIMIT, &REMAINING, &RESET]
    }

    /// The headers' values: limit, remaining, reset.
    pub(crate) fn into_values(self) -> [HeaderValue; 3] {
        [self.limit, self.remaining, self.reset]
    }
}

/// The answer for a request over the limit.
fn too_many(decision: &Decision) -> Response {
    let seconds = decision.retry_after.div_ceil(1_000_000).max(1);
    Problem::new(StatusCode::TOO_MANY_REQUESTS, format!("rate limit exceeded; retry in {seconds} s"))
        .with_header(header::RETRY_AFTER, HeaderValue::from(seconds))
        .into_response()
}

/// One GCRA step: the decision and the client's new theoretical arrival time.
fn gcra(tat: u64, now: u64, interval: u64, tolerance: u64) -> (Decision, u64) {
    let tat = tat.max(now);
    if now + tolerance < tat {
        let retry_after = tat - tolerance - now;
        return (Decision { allowed: false, until_reset: tat - now, retry_after }, tat);
    }
    let new_tat = tat + interval;
    (Decision { allowed: true, until_reset: new_tat - now, retry_after: 0 }, new_tat)
}

static LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
static REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
static RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Probes and scrapes are not the clients' traffic: an orchestrator must never be throttled
/// into restarting a healthy replica (SPEC 1.6: `/health/live` is 200 whenever the process
/// serves). They count against no one and are never refused, but their answers carry the
/// client's `X-RateLimit-*` like every other (SPEC 1.7). (The OpenAPI document asks this too,
/// for its 429s.)
pub(crate) fn is_exempt(path: &str) -> bool {
    path == "/health" || path.starts_with("/health/") || path == "/metrics"
}

/// What the limit makes of one request.
pub(crate) enum LimitCheck {
    /// Decided here: the headers for the route's answer, or the 429 to send instead.
    Decided(Verdict),
    /// Decided by Redis once this resolves.
    InRedis(BoxFuture<'static, Verdict>),
}

/// What the limit decided for one request.
pub(crate) enum Verdict {
    /// Let through; the `X-RateLimit-*` headers saying these go on the route's answer.
    Allowed(LimitNumbers),
    /// Refused with this answer (429, with the headers).
    Refused(Response),
}

impl RateLimiter {
    /// Counts `request`, which `arrived` then, against its client (`peer` is the connection's
    /// address). The in-process check is decided at once, so that path costs no boxed future;
    /// only a check in Redis waits inside one. The arrival time is the edge's, so the check
    /// reads no clock of its own.
    pub(crate) fn check(self: &Arc<Self>, request: &mut Request, peer: Option<IpAddr>, arrived: Instant) -> LimitCheck {
        let client = self.client_of(request, peer);
        if is_exempt(request.uri().path()) {
            return self.peek(client, arrived);
        }
        if let Some(decision) = self.check_here(&client, arrived) {
            return LimitCheck::Decided(self.verdict(&decision));
        }
        let limiter = self.clone();
        LimitCheck::InRedis(Box::pin(async move { limiter.verdict(&limiter.check_in_redis(client).await) }))
    }

    /// What `request`'s client has left, counting nothing and refusing nothing: for an answer
    /// that counts against no one but carries the allowance like every answer (a CORS
    /// preflight; probes and scrapes, [`is_exempt`], are peeked by [`Self::check`] itself).
    pub(crate) fn allowance(
        self: &Arc<Self>,
        request: &mut Request,
        peer: Option<IpAddr>,
        arrived: Instant,
    ) -> LimitCheck {
        let client = self.client_of(request, peer);
        self.peek(client, arrived)
    }

    fn peek(self: &Arc<Self>, client: Client, arrived: Instant) -> LimitCheck {
        if let Some(allowance) = self.peek_here(&client, arrived) {
            return LimitCheck::Decided(Verdict::Allowed(self.numbers(&allowance)));
        }
        let limiter = self.clone();
        let peeked = async move { Verdict::Allowed(limiter.numbers(&limiter.peek_in_redis(client).await)) };
        LimitCheck::InRedis(Box::pin(peeked))
    }

    fn verdict(&self, decision: &Decision) -> Verdict {
        let numbers = self.numbers(decision);
        if decision.allowed {
            return Verdict::Allowed(numbers);
        }
        let mut response = too_many(decision);
        numbers.headers().add_to(&mut response);
        Verdict::Refused(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_limits() {
        assert_eq!(parse_rate_limit("100-M"), Ok(RateLimit { requests: 100, period: Duration::from_secs(60) }));
        assert_eq!(parse_rate_limit("5-s").map(|l| l.period), Ok(Duration::from_secs(1)));
        assert_eq!(parse_rate_limit("1-D").map(|l| l.period), Ok(Duration::from_secs(86_400)));
        for bad in ["", "100", "0-M", "-1-M", "10-W", "x-S"] {
            assert!(parse_rate_limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn gcra_allows_a_burst_then_spaces_requests() {
        // 5 per minute: 12 s apart, a burst of 5.
        let (interval, tolerance) = (12_000_000, 48_000_000);
        let (mut tat, now) = (0, 1_000_000_000);
        for n in 0..5 {
            let (decision, next) = gcra(tat, now, interval, tolerance);
            assert!(decision.allowed, "request {n}");
            tat = next;
        }
        let (refused, same) = gcra(tat, now, interval, tolerance);
        assert!(!refused.allowed);
        assert_eq!(same, tat, "a refused request costs nothing");
        assert_eq!(refused.retry_after, 12_000_000);
        let (later, _) = gcra(tat, now + 12_000_000, interval, tolerance);
        assert!(later.allowed);
    }

    #[test]
    fn limit_headers_say_their_numbers_whatever_the_thread_made_before() {
        let text = |h: &LimitHeaders| [&h.limit, &h.remaining, &h.reset].map(|v| v.to_str().unwrap().to_owned());
        for numbers in [[100, 99, 1], [100, 99, 1], [100, 98, 1], [7, 98, 1], [7, 98, 0], [100, 99, 1]] {
            let expected = numbers.map(|n| n.to_string());
            assert_eq!(text(&LimitHeaders::of(numbers)), expected, "{numbers:?}");
        }
    }

    #[test]
    fn health_and_metrics_are_exempt() {
        assert!(is_exempt("/health/ready") && is_exempt("/health") && is_exempt("/metrics"));
        assert!(!is_exempt("/api/v1/patients") && !is_exempt("/healthy"));
    }
}
