//! Which caregivers a caller may see (SPEC 3). A token may carry a `caregivers` claim, an array
//! of caregiver ids: its holder lists, reads, creates, reimburses, deletes and reports only
//! events of those caregivers, whatever its scopes (`admin: true` grants scopes, not
//! caregivers). The store applies it in the queries themselves.

use axum::{extract::FromRequestParts, http::request::Parts};
use ferrum_platform::{auth::Caller, db::dialect};

use crate::error::CareError;

/// The claim that confines a token to some caregivers.
pub const CLAIM: &str = "caregivers";

/// A set of caregivers: every one, or only some. What a caller may see, and what a filter asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caregivers {
    /// Every caregiver.
    All,
    /// Only these, ascending, without repeats (possibly none).
    Only(Vec<i64>),
}

impl Caregivers {
    /// Only these caregivers.
    pub fn only(mut ids: Vec<i64>) -> Self {
        ids.sort_unstable();
        ids.dedup();
        Caregivers::Only(ids)
    }

    /// The caregivers `caller` may see: those its claim lists, or every one without the claim.
    /// A claim that is not an array of integers is refused (403) rather than ignored.
    pub fn of(caller: &Caller) -> Result<Self, CareError> {
        match caller.claim::<Vec<i64>>(CLAIM) {
            Ok(Some(ids)) => Ok(Caregivers::only(ids)),
            Ok(None) => Ok(Caregivers::All),
            Err(_) => Err(CareError::Forbidden),
        }
    }

    /// True when `caregiver` is among them.
    pub fn allows(&self, caregiver: i64) -> bool {
        match self {
            Caregivers::All => true,
            Caregivers::Only(ids) => ids.binary_search(&caregiver).is_ok(),
        }
    }

    /// What a filter naming `requested` (none: every caregiver) covers for a caller who may see
    /// `self`: the requested ones, when the caller may see each (else 403), or all it may see.
    pub fn narrow(&self, requested: Option<Vec<i64>>) -> Result<Caregivers, CareError> {
        match requested {
            Some(ids) if !ids.is_empty() => {
                if ids.iter().all(|&id| self.allows(id)) {
                    Ok(Caregivers::only(ids))
                } else {
                    Err(CareError::Forbidden)
                }
            }
            _ => Ok(self.clone()),
        }
    }

    /// The value the store binds for `dialect::integers_in`: NULL for every caregiver.
    pub fn bound(&self) -> Option<String> {
        match self {
            Caregivers::All => None,
            Caregivers::Only(ids) => Some(dialect::integer_array(ids)),
        }
    }
}

/// The caller's caregivers, as a handler argument behind the token guard.
impl<S: Send + Sync> FromRequestParts<S> for Caregivers {
    type Rejection = CareError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, CareError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        Caregivers::of(&caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_may_name_only_caregivers_the_caller_sees() {
        let some = Caregivers::only(vec![5, 3, 3]);
        assert_eq!(some, Caregivers::Only(vec![3, 5]));
        assert!(some.allows(5) && !some.allows(4));
        assert_eq!(some.narrow(None).unwrap(), some);
        assert_eq!(some.narrow(Some(vec![])).unwrap(), some);
        assert_eq!(some.narrow(Some(vec![5])).unwrap(), Caregivers::Only(vec![5]));
        assert!(matches!(some.narrow(Some(vec![5, 4])), Err(CareError::Forbidden)));
        assert_eq!(Caregivers::All.narrow(Some(vec![9, 1])).unwrap(), Caregivers::Only(vec![1, 9]));
        assert_eq!(Caregivers::All.bound(), None);
        assert_eq!(some.bound().as_deref(), Some("[3,5]"));
        let none = Caregivers::only(vec![]);
        assert!(!none.allows(1));
        assert!(matches!(none.narrow(Some(vec![1])), Err(CareError::Forbidden)));
    }
}
