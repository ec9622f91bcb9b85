//! The patient and the rules a create or update body must follow.

use chrono::{DateTime, Utc};
use ferrum_platform::http::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest first name, in characters, after trimming.
const MAX_FIRST_NAME: usize = 100;
/// Longest value of the other fields, in characters.
const MAX_FIELD: usize = 256;

/// A patient record as the API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "first_name": "Heimdall", "last_name": "Odinson", "address": "Bifröst 1",
    "phone": "+46 8 123", "email": "h@asgard.example", "created_at": "2026-01-02T03:04:05.123456Z",
    "updated_at": "2026-01-02T03:04:05.123456Z", "version": 1}))]
pub struct Patient {
    /// Assigned by the database, never reused, even after a delete.
    pub id: i64,
    /// Trimmed, 1 to 100 characters.
    pub first_name: String,
    /// Trimmed, `""` when absent.
    pub last_name: String,
    /// Trimmed, `""` when absent.
    pub address: String,
    /// Trimmed, `""` when absent.
    pub phone: String,
    /// Trimmed; `""` or an address like `name@example.org`.
    pub email: String,
    /// When the record was created: RFC 3339, UTC, microseconds.
    #[serde(serialize_with = "ferrum_platform::time::serialize")]
    pub created_at: DateTime<Utc>,
    /// When the record last changed: RFC 3339, UTC, microseconds.
    #[serde(serialize_with = "ferrum_platform::time::serialize")]
    pub updated_at: DateTime<Utc>,
    /// Starts at 1 and grows by one with every update; the `ETag` is this number in quotes.
    pub version: i64,
}

/// The body of a create or update: a JSON object. Unknown fields (`id`, `created_at`...) are
/// ignored; a broken rule is 422 naming the field.
// It must be an object: a derived reader would also read a struct from an array. The schema
// states the rules `PatientFields::try_from` checks; `first_name` is an `Option` in Rust only so
// that its absence is reported like its other faults, and the schema shows it as required.
#[derive(Debug, Default, ToSchema)]
#[schema(example = json!({"first_name": "Heimdall", "last_name": "Odinson", "email": "h@asgard.example"}))]
pub struct PatientBody {
    /// Required: 1 to 100 characters after trimming.
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    pub first_name: Option<String>,
    /// Optional, default `""`; at most 256 characters after trimming.
    #[schema(max_length = 256)]
    pub last_name: Option<String>,
    /// Optional, default `""`; at most 256 characters after trimming.
    #[schema(max_length = 256)]
    pub address: Option<String>,
    /// Optional, default `""`; at most 256 characters after trimming.
    #[schema(max_length = 256)]
    pub phone: Option<String>,
    /// Optional, default `""`; when not empty, an address like `name@example.org`; at most 256 characters.
    #[schema(max_length = 256)]
    pub email: Option<String>,
    /// Update only: the version the client last saw. Like `If-Match`, it makes the update
    /// conditional (409 when stale); ignored on create. Any JSON number that is a whole number
    /// in range is read exactly (`3`, `3.0`, `3e0`); `3.5` or a value outside int64 is 422.
    pub version: Option<i64>,
}

/// The derived reader, reached only through a map (see `PatientBody`'s `Deserialize`).
#[derive(Deserialize)]
#[serde(remote = "PatientBody")]
struct PatientBodyFields {
    first_name: Option<String>,
    last_name: Option<String>,
    address: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    #[serde(default, deserialize_with = "ferrum_platform::http::integer::optional_i64")]
    version: Option<i64>,
}

impl<'de> Deserialize<'de> for PatientBody {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectOnly;
        impl<'de> serde::de::Visitor<'de> for ObjectOnly {
            type Value = PatientBody;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<PatientBody, A::Error> {
                PatientBodyFields::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_map(ObjectOnly)
    }
}

/// Validated patient fields, trimmed, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatientFields {
    /// Trimmed, 1 to 100 characters.
    pub first_name: String,
    /// Trimmed, at most 256 characters.
    pub last_name: String,
    /// Trimmed, at most 256 characters.
    pub address: String,
    /// Trimmed, at most 256 characters.
    pub phone: String,
    /// Trimmed, empty or an address, at most 256 characters.
    pub email: String,
}

impl PatientFields {
    /// The first name as the `q` search matches it.
    pub fn first_name_folded(&self) -> String {
        self.first_name.to_lowercase()
    }

    /// The last name as the `q` search matches it.
    pub fn last_name_folded(&self) -> String {
        self.last_name.to_lowercase()
    }
}

impl TryFrom<PatientBody> for PatientFields {
    type Error = Vec<FieldError>;

    /// Checks every field and reports every problem at once. U+0000 is refused everywhere:
    /// PostgreSQL cannot store it in text, and both databases must behave the same.
    fn try_from(body: PatientBody) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let first_name = body.first_name.as_deref().unwrap_or("").trim().to_owned();
        match first_name.chars().count() {
            0 => errors.push(FieldError::new("first_name", "is required")),
            n if n > MAX_FIRST_NAME => {
                errors.push(FieldError::new("first_name", format!("must be at most {MAX_FIRST_NAME} characters")));
            }
            _ if first_name.contains('\0') => errors.push(FieldError::new("first_name", NO_NUL)),
            _ => {}
        }
        let mut optional = |name: &str, value: Option<String>| {
            let value = value.as_deref().unwrap_or("").trim().to_owned();
            if value.chars().count() > MAX_FIELD {
                errors.push(FieldError::new(name, format!("must be at most {MAX_FIELD} characters")));
            } else if value.contains('\0') {
                errors.push(FieldError::new(name, NO_NUL));
            }
            value
        };
        let last_name = optional("last_name", body.last_name);
        let address = optional("address", body.address);
        let phone = optional("phone", body.phone);
        let email = optional("email", body.email);
        let email_sound = !errors.iter().any(|e| e.field == "email");
        if email_sound && !email.is_empty() && !is_email_address(&email) {
            errors.push(FieldError::new("email", "must be an email address like name@example.org"));
        }
        if errors.is_empty() { Ok(Self { first_name, last_name, address, phone, email }) } else { Err(errors) }
    }
}

/// What a field holding U+0000 is told.
const NO_NUL: &str = "must not contain the character U+0000";

/// A pragmatic address check: one `@`, a local part, a dotted-or-not domain of sane characters,
/// no spaces. Deliverability is the mail server's business, not ours.
fn is_email_address(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else { return false };
    let domain_ok = !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    !local.is_empty() && local.len() <= 64 && !local.chars().any(|c| c.is_whitespace() || c == '@') && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(first: &str, email: &str) -> PatientBody {
        PatientBody { first_name: Some(first.into()), email: Some(email.into()), ..PatientBody::default() }
    }

    #[test]
    fn accepts_and_trims_a_good_body() {
        let fields = PatientFields::try_from(body("  Heimdall ", "h@asgard.example")).unwrap();
        assert_eq!(fields.first_name, "Heimdall");
        assert_eq!(fields.last_name, "");
        assert_eq!(fields.first_name_folded(), "heimdall");
    }

    #[test]
    fn reports_every_bad_field() {
        let errors = PatientFields::try_from(PatientBody {
            first_name: Some("   ".into()),
            email: Some("not-an-address".into()),
            phone: Some("9".repeat(257)),
            ..PatientBody::default()
        })
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["first_name", "phone", "email"]);
    }

    #[test]
    fn name_length_counts_characters_not_bytes() {
        assert!(PatientFields::try_from(body(&"Å".repeat(100), "")).is_ok());
        assert!(PatientFields::try_from(body(&"Å".repeat(101), "")).is_err());
    }

    #[test]
    fn email_addresses() {
        for good in ["a@b", "first.last@example.org", "x+tag@sub.example.co"] {
            assert!(is_email_address(good), "{good}");
        }
        for bad in ["", "@x.org", "a@", "a b@x.org", "a@@x.org", "a@x..org", "a@-x.org"] {
            assert!(!is_email_address(bad), "{bad}");
        }
    }
}
