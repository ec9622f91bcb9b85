//! JWT authentication and scopes (SPEC 1.5): HS256 pinned, 30 s leeway, `admin: true` grants
//! every scope.
//!
//! A module guards its router with [`require`], which reads who may call each route from the
//! route's OpenAPI operation, so one router holds its public and protected routes alike:
//!
//! ```ignore
//! /// Anyone may ask: no token.
//! #[utoipa::path(get, path = "/ping", security(()), responses((status = 200, description = "pong")))]
//! async fn ping() -> &'static str { "pong!" }
//!
//! /// Scope `care` and scope `care:reimburse`.
//! #[utoipa::path(post, path = "/events/{id}/reimburse", security(("bearer" = ["care", "care:reimburse"])), ...)]
//! async fn reimburse_event(caller: Caller, Path(id): Path<i64>) -> ... { caller.subject() ... }
//!
//! /// No `security`: the router's scope (`care`), written into the document for it.
//! #[utoipa::path(get, path = "/events", ...)]
//! async fn list_events(state: State) -> ... { ... }
//!
//! let router = OpenApiRouter::new().routes(routes!(ping)).routes(routes!(list_events)) /* ... */;
//! auth::require(router, platform.auth.clone(), Scope::new("care"))
//! ```
//!
//! A protected route answers 401 (with `WWW-Authenticate`) without a valid token and 403 with a
//! token lacking a scope, as problem+json, or in the module's own shape through [`require_as`];
//! a handler that needs the caller takes a [`Caller`] argument, the claims the guard verified.

mod caller;
mod guard;

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{Request, State},
    http::{HeaderValue, header},
};
use dashmap::DashMap;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub use caller::Caller;
pub use guard::{require, require_as};

use crate::{
    config::AuthConfig,
    http::{Json, Problem, Rejection},
};

/// Leeway on `exp` and `nbf` for clocks that disagree a little.
const LEEWAY_SECONDS: u64 = 30;

/// How many verified tokens are remembered; the memory is emptied when it is full.
const VERIFIED_TOKENS: usize = 4096;

/// A permission a token carries in its space-separated `scope` claim. Each module names its
/// own (`Scope::new("patients")`); the platform knows only `admin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope(&'static str);

impl Scope {
    /// Grants the admin routes (and, through `admin: true`, everything).
    pub const ADMIN: Scope = Scope("admin");

    /// A scope by name.
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// The scope's name as it appears in tokens.
    pub fn name(&self) -> &'static str {
        self.0
    }
}

/// The claims Ferrum reads from a token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who the token is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Grants every scope.
    #[serde(default)]
    pub admin: bool,
    /// Space-separated scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Every other claim of the token, by name, as sent: what a module reads beyond the
    /// platform's claims (care's `caregivers`), through [`Caller::claim`]. The platform gives
    /// them no meaning.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Claims {
    /// True when the token may use routes guarded by `scope`.
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.grants(scope.0)
    }

    /// True when the token grants the scope named `scope`.
    fn grants(&self, scope: &str) -> bool {
        self.admin || self.scope.as_deref().unwrap_or("").split_whitespace().any(|s| s == scope)
    }
}

/// Why a request is not authenticated; each becomes a 401 saying which.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token")]
    Missing,
    /// Not a JWT, or claims of the wrong shape.
    #[error("malformed token")]
    Malformed,
    /// The signature does not match the key.
    #[error("bad token signature")]
    BadSignature,
    /// Past `exp` (or before `nbf`).
    #[error("token expired")]
    Expired,
    /// Not yet valid (`nbf` in the future).
    #[error("token not yet valid")]
    NotYetValid,
    /// Any algorithm other than HS256, `none` included.
    #[error("wrong token algorithm: only HS256 is accepted")]
    WrongAlgorithm,
}

/// A token could not be signed: the key does not suit HS256 or the claims did not serialize.
/// Neither happens with a key read from the configuration; a caller still reports it (500, an
/// error exit) rather than hand out an empty token.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign the token: {0}")]
pub struct SignError(#[source] jsonwebtoken::errors::Error);

impl AuthError {
    /// The `WWW-Authenticate` value a 401 for this error carries (RFC 6750).
    pub fn challenge(&self) -> HeaderValue {
        match self {
            AuthError::Missing => HeaderValue::from_static("Bearer"),
            _ => HeaderValue::from_static("Bearer error=\"invalid_token\""),
        }
    }
}

impl From<AuthError> for Problem {
    fn from(error: AuthError) -> Self {
        Problem::from(Rejection::Unauthenticated(error))
    }
}

/// Verifies and mints tokens with the configured key.
pub struct AuthKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    claim_name: String,
    expiration: Duration,
    /// Tokens whose signature has been checked, by their exact text, with their claims. A
    /// client sends the same token on every request, and checking it (base64, HMAC-SHA256,
    /// JSON) was the largest part of an authenticated read (BENCHMARKS.md); a remembered token
    /// costs one map lookup and its expiry check. Only the key that signed it could have made
    /// the same text, so remembering cannot admit a token the key would refuse; the time
    /// checks (`exp`) are made again on every use.
    verified: DashMap<Box<str>, Claims, foldhash::fast::RandomState>,
}

impl std::fmt::Debug for AuthKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthKeys").field("claim_name", &self.claim_name).finish_non_exhaustive()
    }
}

impl AuthKeys {
    /// Keys from the configuration.
    pub fn new(config: &AuthConfig) -> Self {
        let secret = config.signing_key.expose().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            claim_name: config.claim_name.clone(),
            expiration: config.expiration,
            verified: DashMap::with_hasher(foldhash::fast::RandomState::default()),
        }
    }

    /// Checks signature, algorithm, `exp` and `nbf`.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        if let Some(claims) = self.verified.get(token) {
            // `nbf` cannot turn false again once true; `exp` can, so it is checked each time,
            // as the library checks it. An expired token falls through to the full check,
            // which says why it is refused.
            let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX);
            if now <= claims.exp.saturating_add(LEEWAY_SECONDS as i64) {
                return Ok(claims.clone());
            }
        }
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) => {
                if self.verified.len() >= VERIFIED_TOKENS {
                    self.verified.clear();
                }
                self.verified.insert(token.into(), data.claims.clone());
                Ok(data.claims)
            }
            Err(error) => {
                // A remembered token that has expired since is forgotten.
                self.verified.remove(token);
                Err(match error.kind() {
                    ErrorKind::ExpiredSignature => AuthError::Expired,
                    ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                    ErrorKind::InvalidSignature => AuthError::BadSignature,
                    ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => AuthError::WrongAlgorithm,
                    // `alg: none` and unknown algorithms fail while parsing the header: say so.
                    _ if header_names_other_algorithm(token) => AuthError::WrongAlgorithm,
                    _ => AuthError::Malformed,
                })
            }
        }
    }

    /// Signs `claims` as they are.
    pub fn sign(&self, claims: &Claims) -> Result<String, SignError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(SignError)
    }

    /// Mints a token for the configured claim name and lifetime, with the given grants.
    pub fn mint(
        &self,
        sub: Option<String>,
        admin: bool,
        scope: Option<String>,
        ttl: Option<Duration>,
    ) -> Result<String, SignError> {
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(ttl.unwrap_or(self.expiration).as_secs()).unwrap_or(i64::MAX / 2);
        self.sign(&Claims {
            sub,
            name: Some(self.claim_name.clone()),
            admin,
            scope,
            exp: now.saturating_add(ttl),
            iat: Some(now),
            nbf: None,
            extra: serde_json::Map::new(),
        })
    }
}

fn header_names_other_algorithm(token: &str) -> bool {
    use base64::Engine as _;
    let Some(head) = token.split('.').next() else { return false };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(head.trim_end_matches('=')) else {
        return false;
    };
    #[derive(Deserialize)]
    struct Head {
        alg: String,
    }
    serde_json::from_slice::<Head>(&bytes).is_ok_and(|h| h.alg != "HS256")
}

/// Reads the bearer token of a request.
pub fn bearer(request: &Request) -> Result<&str, AuthError> {
    let value = request.headers().get(header::AUTHORIZATION).ok_or(AuthError::Missing)?;
    let value = value.to_str().map_err(|_| AuthError::Malformed)?;
    let (kind, token) = value.trim().split_once(' ').ok_or(AuthError::Malformed)?;
    if !kind.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(token.trim())
}

/// A freshly minted token.
#[derive(Serialize, ToSchema)]
struct Token {
    /// An HS256 JWT with `admin: true`, `name`, `iat` and `exp` (now plus `FERRUM_HTTP_JWT_EXPIRATION`).
    token: String,
}

#[derive(OpenApi)]
#[openapi(tags((name = "auth", description = "Tokens for development. Operators mint tokens with `ferrum token`.")))]
struct TokenApi;

/// `GET /generate-token` (development only), with its part of the OpenAPI document.
pub fn generate_token_route(keys: Arc<AuthKeys>) -> OpenApiRouter {
    OpenApiRouter::with_openapi(TokenApi::openapi()).routes(routes!(generate_token)).with_state(keys)
}

/// Mint an admin token (development only).
///
/// As the original Ferrum did. Not mounted, hence 404, when `FERRUM_ENV=production`.
#[utoipa::path(get, path = "/generate-token", tag = "auth",
    responses((status = 200, description = "A token that grants every scope.", body = Token,
        example = json!({"token": "eyJhbGciOiJIUzI1NiJ9.eyJhZG1pbiI6dHJ1ZX0.c2lnbmF0dXJl"}))))]
async fn generate_token(State(keys): State<Arc<AuthKeys>>) -> Result<Json<Token>, Problem> {
    let token = keys.mint(None, true, None, None).map_err(|error| Problem::internal(error.to_string()))?;
    Ok(Json(Token { token }))
}

/// Keys for `key` with every other setting at its default, for the crate's unit tests.
#[cfg(test)]
pub(crate) fn test_keys(key: &str) -> AuthKeys {
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        auth: AuthConfig,
    }
    AuthKeys::new(&Cli::try_parse_from(["t", "--jwt-signing-key", key]).unwrap().auth)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    use super::test_keys as keys;

    #[test]
    fn verifies_what_it_mints() {
        let keys = keys("k1");
        let token = keys.mint(Some("u1".into()), false, Some("patients care".into()), None).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(claims.name.as_deref(), Some("ferrum"));
        assert!(claims.has_scope(Scope::new("care")));
        assert!(!claims.has_scope(Scope::ADMIN));
    }

    #[test]
    fn a_remembered_token_is_still_refused_once_it_expires() {
        let keys = keys("k1");
        let now = chrono::Utc::now().timestamp();
        // Valid for one more second, thanks to the leeway.
        let token = keys.sign(&Claims { sub: Some("u1".into()), exp: now - 29, ..Claims::default() }).unwrap();
        assert_eq!(keys.verify(&token).map(|c| c.sub), Ok(Some("u1".into())));
        assert_eq!(keys.verify(&token).map(|c| c.sub), Ok(Some("u1".into())), "remembered");
        // Once the leeway has passed, the remembered token is refused.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while keys.verify(&token).is_ok() {
            assert!(std::time::Instant::now() < deadline, "an expired token was still accepted");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(keys.verify(&token), Err(AuthError::Expired));
        assert!(keys.verified.is_empty(), "an expired token is forgotten");
        // Another key's token of the same claims is not taken for the remembered one.
        let forged =
            test_keys("k2").sign(&Claims { sub: Some("u1".into()), exp: now + 60, ..Claims::default() }).unwrap();
        assert_eq!(keys.verify(&forged), Err(AuthError::BadSignature));
    }

    #[test]
    fn the_memory_of_verified_tokens_is_bounded() {
        let keys = keys("k1");
        for n in 0..=VERIFIED_TOKENS {
            let token = keys.mint(Some(n.to_string()), false, None, None).unwrap();
            assert_eq!(keys.verify(&token).map(|c| c.sub), Ok(Some(n.to_string())));
        }
        assert!((1..=VERIFIED_TOKENS).contains(&keys.verified.len()), "{}", keys.verified.len());
    }

    #[test]
    fn says_why_a_token_is_refused() {
        let keys = keys("k1");
        assert_eq!(keys.verify("nonsense"), Err(AuthError::Malformed));
        let other = super::tests::keys("k2").mint(None, true, None, None).unwrap();
        assert_eq!(keys.verify(&other), Err(AuthError::BadSignature));
        let expired = keys.sign(&Claims { exp: chrono::Utc::now().timestamp() - 120, ..Claims::default() }).unwrap();
        assert_eq!(keys.verify(&expired), Err(AuthError::Expired));
        let within_leeway =
            keys.sign(&Claims { exp: chrono::Utc::now().timestamp() - 10, ..Claims::default() }).unwrap();
        assert!(keys.verify(&within_leeway).is_ok());
        // {"alg":"none","typ":"JWT"} . {"admin":true,"exp":9999999999} . (no signature)
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJhZG1pbiI6dHJ1ZSwiZXhwIjo5OTk5OTk5OTk5fQ.";
        assert_eq!(keys.verify(none), Err(AuthError::WrongAlgorithm));
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &Claims { exp: 9_999_999_999, ..Claims::default() },
            &EncodingKey::from_secret(b"k1"),
        )
        .unwrap();
        assert_eq!(keys.verify(&hs512), Err(AuthError::WrongAlgorithm));
    }

    /// Keys whose signing half cannot sign HS256 (an Ed25519 key), as no configuration gives.
    fn unsigning_keys() -> AuthKeys {
        AuthKeys { encoding: EncodingKey::from_ed_der(b"not a key"), ..keys("k1") }
    }

    #[test]
    fn a_token_that_cannot_be_signed_is_an_error_not_an_empty_token() {
        let error = unsigning_keys().mint(None, true, None, None).unwrap_err();
        assert!(error.to_string().starts_with("cannot sign the token: "), "{error}");
    }

    #[tokio::test]
    async fn generate_token_answers_500_when_it_cannot_sign() {
        use http_body_util::BodyExt as _;
        use tower::ServiceExt as _;

        let (router, _) = generate_token_route(Arc::new(unsigning_keys())).split_for_parts();
        let request = Request::get("/generate-token").body(axum::body::Body::empty()).unwrap();
        let response = router.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["detail"], "internal error");
        let (router, _) = generate_token_route(Arc::new(keys("k1"))).split_for_parts();
        let request = Request::get("/generate-token").body(axum::body::Body::empty()).unwrap();
        assert_eq!(router.oneshot(request).await.unwrap().status(), StatusCode::OK);
    }
}
