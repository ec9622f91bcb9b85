//! The caller of a guarded route as a handler argument: the claims the guard verified, taken
//! from the request as they are (no second verification, no copy).

use axum::{extract::FromRequestParts, http::request::Parts};
use serde::de::DeserializeOwned;

use super::{Claims, Scope};
use crate::http::Rejection;

/// Who called a route behind [`super::require`]: the token's subject, name, scopes and admin
/// flag, as the guard verified them. A handler takes it as an argument:
///
/// ```ignore
/// use ferrum_platform::{auth::Caller, http::Json};
///
/// async fn whoami(caller: Caller) -> Json<Option<String>> {
///     Json(caller.subject().map(str::to_owned))
/// }
/// ```
///
/// On a public route (`security(())`), or a router without the guard, there is no caller: taking
/// one there is a mistake in the module, answered 500 with the cause logged. Take it once per
/// request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller(Claims);

impl Caller {
    /// The token's `sub`: who the token is for.
    pub fn subject(&self) -> Option<&str> {
        self.0.sub.as_deref()
    }

    /// The token's `name`: a display name.
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    /// The scopes the token's `scope` claim lists, in its order.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.0.scope.as_deref().unwrap_or("").split_whitespace()
    }

    /// True for a token with `admin: true`, which grants every scope.
    pub fn is_admin(&self) -> bool {
        self.0.admin
    }

    /// True when the token grants `scope` (listed, or `admin: true`).
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.0.has_scope(scope)
    }

    /// Every claim Ferrum reads from the token (times included).
    pub fn claims(&self) -> &Claims {
        &self.0
    }

    /// A claim the platform does not read itself, by name, as `T`: `Ok(None)` when the token
    /// does not carry it (or carries `null`), an error when it carries something `T` cannot
    /// hold. What the claim means is the module's business; a module that confines callers by
    /// a claim refuses a token whose claim it cannot read, rather than ignore the confinement.
    pub fn claim<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, serde_json::Error> {
        match self.0.extra.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(value) => T::deserialize(value).map(Some),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        // Taken, not cloned: the guard put them there for the handler alone.
        parts.extensions.remove::<Claims>().map(Caller).ok_or(Rejection::NoCaller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_claims_the_platform_does_not_know() {
        let keys = crate::auth::test_keys("k");
        let mut claims = Claims { exp: chrono::Utc::now().timestamp() + 60, ..Claims::default() };
        claims.extra.insert("teams".into(), serde_json::json!([3, 4]));
        claims.extra.insert("nothing".into(), serde_json::Value::Null);
        let caller = Caller(keys.verify(&keys.sign(&claims).unwrap()).unwrap());
        assert_eq!(caller.claim::<Vec<i64>>("teams").unwrap(), Some(vec![3, 4]));
        assert_eq!(caller.claim::<Vec<i64>>("absent").unwrap(), None);
        assert_eq!(caller.claim::<Vec<i64>>("nothing").unwrap(), None);
        assert!(caller.claim::<String>("teams").is_err(), "a claim of another shape is an error");
        // The platform's own claims are not among the others.
        assert!(caller.claims().extra.get("exp").is_none());
    }
}
