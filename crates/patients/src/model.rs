//! The patient and the rules a create or update body must follow.

use chrono::{DateTime, Utc};
use ferrum_platform::http::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest first name, in characters, after trimming.
const MAX_FIRST_NAME: usize = 100;
/// Longest value of the other fields, in characters as sent.
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
// states exactly the rules `PatientFields::try_from` checks, so a client (or a fuzzer) that follows
// the document is never refused, and one that breaks it always is; a unit test holds the two
// together. `[SPACE]` in the patterns stands for the characters trimming removes (Unicode
// White_Space), spelled out because `\s` means different things in ECMAScript, Python and Rust.
// `first_name` is an `Option` in Rust only so that its absence is reported like its other faults,
// and the schema shows it as required.
#[derive(Debug, Default, ToSchema)]
#[schema(example = json!({"first_name": "Heimdall", "last_name": "Odinson", "email": "h@asgard.example"}))]
pub struct PatientBody {
    /// Required: 1 to 100 characters after trimming whitespace, without U+0000.
    #[schema(
        value_type = String,
        pattern = r"^[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\x00](?:[^\x00]{0,98}[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\x00])?[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub first_name: Option<String>,
    /// Optional, default `""`; at most 256 characters as sent, without U+0000; trimmed.
    #[schema(max_length = 256, pattern = r"^[^\x00]*$")]
    pub last_name: Option<String>,
    /// Optional, default `""`; at most 256 characters as sent, without U+0000; trimmed.
    #[schema(max_length = 256, pattern = r"^[^\x00]*$")]
    pub address: Option<String>,
    /// Optional, default `""`; at most 256 characters as sent, without U+0000; trimmed.
    #[schema(max_length = 256, pattern = r"^[^\x00]*$")]
    pub phone: Option<String>,
    /// Optional, default `""`; at most 256 characters as sent; trimmed, it is empty or an address
    /// `local@domain`: a local part of 1 to 64 characters (no whitespace, `@` or U+0000), and a
    /// domain of dot-separated labels of ASCII letters, digits, non-ASCII letters and inner `-`.
    #[schema(
        max_length = 256,
        pattern = r"^[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*(?:[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000@\x00]{1,64}@[^\x00-\x2F\x3A-\x40\x5B-\x60\x7B-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:(?:[^\x00-\x2F\x3A-\x40\x5B-\x60\x7B-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]|-)*[^\x00-\x2F\x3A-\x40\x5B-\x60\x7B-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?(?:\.[^\x00-\x2F\x3A-\x40\x5B-\x60\x7B-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:(?:[^\x00-\x2F\x3A-\x40\x5B-\x60\x7B-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]|-)*[^\x00-\x2F\x3A-\x40\x5B-\x60\x7B-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?)*)?[\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
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
        // SPEC 2: "each at most 256 characters", counted as sent; the value is stored trimmed.
        let mut optional = |name: &str, value: Option<String>| {
            let value = value.unwrap_or_default();
            if value.chars().count() > MAX_FIELD {
                errors.push(FieldError::new(name, format!("must be at most {MAX_FIELD} characters")));
            } else if value.contains('\0') {
                errors.push(FieldError::new(name, NO_NUL));
            }
            value.trim().to_owned()
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

/// A pragmatic address check, on the trimmed value: a local part of 1 to 64 characters without
/// whitespace, `@` or U+0000, an `@`, and a domain of dot-separated labels made of ASCII letters
/// and digits, non-ASCII letters (no whitespace or control characters) and inner hyphens.
/// Deliverability is the mail server's business, not ours. The document's `email` pattern says
/// the same; a test holds them together.
fn is_email_address(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else { return false };
    let local_ok =
        (1..=64).contains(&local.chars().count()) && !local.chars().any(|c| c.is_whitespace() || c == '@' || c == '\0');
    let label_char = |c: char| c.is_ascii_alphanumeric() || (u32::from(c) > 0xA0 && !c.is_whitespace());
    let domain_ok = domain.split('.').all(|label| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| label_char(c) || c == '-')
    });
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use std::{collections::HashMap, sync::LazyLock};

    use proptest::prelude::*;

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

    /// The document's pattern and `maxLength` of each `PatientBody` field that has a pattern,
    /// compiled as Rust regexes once.
    static DOCUMENTED: LazyLock<HashMap<String, (regex::Regex, Option<usize>)>> = LazyLock::new(|| {
        let schema = serde_json::to_value(<PatientBody as utoipa::PartialSchema>::schema()).unwrap();
        let properties = schema["properties"].as_object().unwrap();
        let patterned = properties.iter().filter_map(|(field, property)| {
            let pattern = regex::Regex::new(property["pattern"].as_str()?).unwrap();
            Some((field.clone(), (pattern, property["maxLength"].as_u64().map(|n| n as usize))))
        });
        patterned.collect()
    });

    fn allowed_by_document(field: &str, value: &str) -> bool {
        let (pattern, max) = &DOCUMENTED[field];
        pattern.is_match(value) && max.is_none_or(|max| value.chars().count() <= max)
    }

    fn accepted(field: &str, value: &str) -> bool {
        let mut body = PatientBody { first_name: Some("Heimdall".into()), ..PatientBody::default() };
        let slot = match field {
            "first_name" => &mut body.first_name,
            "last_name" => &mut body.last_name,
            "address" => &mut body.address,
            "phone" => &mut body.phone,
            "email" => &mut body.email,
            _ => unreachable!("{field}"),
        };
        *slot = Some(value.to_owned());
        PatientFields::try_from(body).map_or_else(|errors| errors.iter().all(|e| e.field != field), |_| true)
    }

    #[test]
    fn the_documented_whitespace_is_what_trimming_removes() {
        let mut fields: Vec<_> = DOCUMENTED.keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["address", "email", "first_name", "last_name", "phone"], "every text field has a pattern");
        // Every character, alone: it is a first name exactly when trimming leaves it there.
        let (first_name, email) = (&DOCUMENTED["first_name"].0, &DOCUMENTED["email"].0);
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            assert_eq!(first_name.is_match(&c.to_string()), !c.is_whitespace() && c != '\0', "{c:?}");
            let address = format!("a@{c}");
            assert_eq!(email.is_match(&address), accepted("email", &address), "{c:?}");
        }
    }

    /// Characters where regex dialects and Rust disagree about whitespace, plus the ones the
    /// rules name.
    const ALPHABET: &[&str] = &[
        "a",
        "Z",
        "0",
        "é",
        "漢",
        "🦀",
        "-",
        ".",
        "@",
        "_",
        "!",
        "\0",
        "\u{1}",
        "\u{7f}",
        "\u{9f}",
        " ",
        "\t",
        "\n",
        "\u{b}",
        "\u{1c}",
        "\u{85}",
        "\u{a0}",
        "\u{1680}",
        "\u{180e}",
        "\u{2000}",
        "\u{200b}",
        "\u{2028}",
        "\u{3000}",
        "\u{feff}",
        "ab",
        "x-y",
        "mail.example",
    ];

    fn text(pieces: std::ops::Range<usize>) -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(ALPHABET), pieces).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn the_documented_patterns_are_the_rules(short in text(0..12), long in text(90..140)) {
            for field in ["first_name", "last_name", "address", "phone", "email"] {
                for value in [&short, &long] {
                    prop_assert_eq!(allowed_by_document(field, value), accepted(field, value), "{} {:?}", field, value);
                }
            }
        }
    }
}
