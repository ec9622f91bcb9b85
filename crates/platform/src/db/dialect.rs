//! Where SQLite's and PostgreSQL's SQL differ, each difference in one named place, so a module
//! writes one statement for both and reaches here for the part that cannot be shared.
//!
//! What is the same and needs nothing from here (tested on both below):
//! - `$1`, `$2`... placeholders, bound by number ([`mod@super::query`]).
//! - `RETURNING`, `COALESCE`, `LIMIT $n`, keyset paging (`WHERE id > $1 ORDER BY id`).
//! - Upserts: `INSERT ... ON CONFLICT (key) DO UPDATE SET total = total + excluded.total`.
//! - Integer aggregates: PostgreSQL's `SUM(bigint)` is `numeric`, which [`super::Row::get`]
//!   refuses to read as an integer; write `CAST(SUM(x) AS BIGINT)`, which both read (`::`
//!   casts do not parse on SQLite). `COUNT(*)` is an integer on both.
//! - Booleans: bind and read `bool`; SQLite stores 0 and 1 (declare the column `BOOLEAN` on
//!   PostgreSQL and `INTEGER` on SQLite in the migrations).
//! - Instants: bind and read `DateTime<Utc>`; SQLite stores them as RFC 3339 text in one fixed
//!   shape (`2026-01-02T03:04:05.123456Z`), so comparing and ordering them as text is comparing
//!   and ordering them as times. Declare them `TIMESTAMPTZ` on PostgreSQL and `TEXT` on SQLite.
//! - Money: integer minor units in a `BIGINT` column on both.
//!
//! What differs, and the one place each is written: [`month_start`] (the month an instant
//! falls in, for monthly totals) and [`integers_in`] (a list of integers bound as one
//! parameter, for `IN`).
//!
//! Also different and not papered over: `LIKE` is case-insensitive for ASCII on SQLite and
//! case-sensitive on PostgreSQL (store a folded copy of the text and match that, as patients
//! does); identity columns (`INTEGER PRIMARY KEY AUTOINCREMENT` against `BIGINT GENERATED
//! ALWAYS AS IDENTITY`) live in the per-dialect migrations.

use super::Backend;

/// SQL for the first instant of the (UTC) month that the instant column `column` falls in,
/// as the dialect stores instants: text `YYYY-MM-01T00:00:00.000000Z` on SQLite, a
/// `timestamptz` on PostgreSQL. It reads back as a `DateTime<Utc>` on both.
pub fn month_start(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Sqlite => format!("(substr({column}, 1, 7) || '-01T00:00:00.000000Z')"),
        Backend::Postgres => format!("date_trunc('month', {column}, 'UTC')"),
    }
}

/// SQL for a subquery of the integers in the JSON array bound to `placeholder` (text such as
/// `[3,4,5]`, made with [`integer_array`]), for `column IN (...)` with a list of any length as
/// one parameter, so the statement's text (and its cached preparation) is one whatever the
/// list's length. A NULL parameter is the empty list. Both databases drive an index on
/// `column` from it. For an optional list write `(CAST($n AS TEXT) IS NULL OR column IN ...)`:
/// PostgreSQL types a placeholder where it first appears, and `$n IS NULL` gives it no type.
pub fn integers_in(backend: Backend, placeholder: &str) -> String {
    match backend {
        Backend::Sqlite => format!("(SELECT value FROM json_each({placeholder}))"),
        // CAST to TEXT first: so the placeholder is typed text, which a bound string is.
        Backend::Postgres => format!(
            "(SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text(CAST(CAST({placeholder} AS TEXT) AS jsonb)))"
        ),
    }
}

/// The text to bind for [`integers_in`]: `[3,4,5]`.
pub fn integer_array(values: &[i64]) -> String {
    let mut text = String::with_capacity(2 + values.len() * 8);
    text.push('[');
    for (at, value) in values.iter().enumerate() {
        if at > 0 {
            text.push(',');
        }
        text.push_str(itoa::Buffer::new().format(*value));
    }
    text.push(']');
    text
}
