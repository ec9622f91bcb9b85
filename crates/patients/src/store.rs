//! Patients SQL. The statements are written once, in SQL both dialects read (`$n` placeholders,
//! `RETURNING`, `COALESCE`); only the binding differs, in one small `match` per operation.
//! Versions are checked inside the UPDATE itself, never by a read-then-write.

use chrono::{DateTime, Utc};
use ferrum_platform::{Db, db, time};
use rusqlite::{OptionalExtension, params};
use sqlx::{Row, postgres::PgRow};

use crate::model::{Patient, PatientFields};

/// The columns every statement returns, in the order the row mappers read them.
macro_rules! columns {
    () => {
        "id, first_name, last_name, address, phone, email, created_at, updated_at, version"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO patients
    (first_name, last_name, address, phone, email, first_name_folded, last_name_folded, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ",
    columns!()
);

const FIND: &str = concat!("SELECT ", columns!(), " FROM patients WHERE id = $1");

// `$2` is '' for no search, else a LIKE pattern over the folded names.
const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM patients
    WHERE id > $1 AND ($2 = '' OR first_name_folded LIKE $2 ESCAPE '\\' OR last_name_folded LIKE $2 ESCAPE '\\')
    ORDER BY id LIMIT $3"
);

// `$10` is the version the client expects, or NULL for an unconditional update.
const UPDATE: &str = concat!(
    "UPDATE patients SET first_name = $1, last_name = $2, address = $3, phone = $4, email = $5,
    first_name_folded = $6, last_name_folded = $7, updated_at = $8, version = version + 1
    WHERE id = $9 AND version = COALESCE($10, version) RETURNING ",
    columns!()
);

const CURRENT_VERSION: &str = "SELECT version FROM patients WHERE id = $1";

const DELETE: &str = "DELETE FROM patients WHERE id = $1 AND version = COALESCE($2, version)";

/// What a versioned write found.
#[derive(Debug)]
pub enum Versioned<T> {
    /// Written.
    Done(T),
    /// No such patient.
    NotFound,
    /// The patient exists at another version.
    Conflict {
        /// The stored version.
        current: i64,
    },
}

/// One page request of the list.
#[derive(Debug)]
pub struct Page<'a> {
    /// Only ids above this.
    pub after_id: i64,
    /// Case-insensitive substring of the first or last name; empty for all.
    pub query: &'a str,
    /// Rows to return at most.
    pub limit: i64,
}

/// Patients storage on either database.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    /// A store over `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Inserts a patient at version 1.
    pub async fn insert(&self, fields: PatientFields) -> Result<Patient, db::Error> {
        let now = time::now();
        match &self.db {
            Db::Sqlite(sqlite) => {
                sqlite
                    .write(move |conn| {
                        let mut statement = conn.prepare_cached(INSERT)?;
                        let (first, last) = (fields.first_name_folded(), fields.last_name_folded());
                        let stamp = time::to_rfc3339(&now);
                        let f = &fields;
                        Ok(statement.query_row(
                            params![f.first_name, f.last_name, f.address, f.phone, f.email, first, last, stamp],
                            from_sqlite,
                        )?)
                    })
                    .await
            }
            Db::Postgres(pool) => {
                let row = bind_fields(sqlx::query(INSERT), &fields, now).fetch_one(pool).await?;
                Ok(from_pg(&row)?)
            }
        }
    }

    /// The patient with this id, if any.
    pub async fn find(&self, id: i64) -> Result<Option<Patient>, db::Error> {
        match &self.db {
            Db::Sqlite(sqlite) => {
                sqlite.read_now(|conn| conn.prepare_cached(FIND)?.query_row([id], from_sqlite).optional())
            }
            Db::Postgres(pool) => {
                let row = sqlx::query(FIND).bind(id).fetch_optional(pool).await?;
                Ok(row.as_ref().map(from_pg).transpose()?)
            }
        }
    }

    /// One page of patients ordered by id.
    pub async fn list(&self, page: &Page<'_>) -> Result<Vec<Patient>, db::Error> {
        // No name holds U+0000 (the model refuses it), and PostgreSQL cannot even take it in a
        // parameter: such a search matches nothing, on both databases.
        if page.query.contains('\0') {
            return Ok(Vec::new());
        }
        let pattern = like_pattern(page.query);
        let (after_id, limit) = (page.after_id, page.limit);
        match &self.db {
            Db::Sqlite(sqlite) if pattern.is_empty() => {
                sqlite.read_now(|conn| list_sqlite(conn, after_id, &pattern, limit))
            }
            // A search may scan the table: keep it off the async threads.
            Db::Sqlite(sqlite) => sqlite.read(move |conn| list_sqlite(conn, after_id, &pattern, limit)).await,
            Db::Postgres(pool) => {
                let rows = sqlx::query(LIST).bind(after_id).bind(&pattern).bind(limit).fetch_all(pool).await?;
                Ok(rows.iter().map(from_pg).collect::<Result<_, _>>()?)
            }
        }
    }

    /// Replaces the fields of a patient whose version is `expected` (any version when `None`).
    pub async fn update_versioned(
        &self,
        id: i64,
        fields: PatientFields,
        expected: Option<i64>,
    ) -> Result<Versioned<Patient>, db::Error> {
        let now = time::now();
        match &self.db {
            Db::Sqlite(sqlite) => {
                sqlite
                    .write(move |conn| {
                        let f = &fields;
                        let (first, last) = (f.first_name_folded(), f.last_name_folded());
                        let stamp = time::to_rfc3339(&now);
                        let updated = conn
                            .prepare_cached(UPDATE)?
                            .query_row(
                                params![
                                    f.first_name,
                                    f.last_name,
                                    f.address,
                                    f.phone,
                                    f.email,
                                    first,
                                    last,
                                    stamp,
                                    id,
                                    expected
                                ],
                                from_sqlite,
                            )
                            .optional()?;
                        match updated {
                            Some(patient) => Ok(Versioned::Done(patient)),
                            None => Ok(missed(current_version_sqlite(conn, id)?)),
                        }
                    })
                    .await
            }
            Db::Postgres(pool) => {
                let row =
                    bind_fields(sqlx::query(UPDATE), &fields, now).bind(id).bind(expected).fetch_optional(pool).await?;
                match row {
                    Some(row) => Ok(Versioned::Done(from_pg(&row)?)),
                    None => Ok(missed(current_version_pg(pool, id).await?)),
                }
            }
        }
    }

    /// Deletes a patient whose version is `expected` (any version when `None`).
    pub async fn delete_versioned(&self, id: i64, expected: Option<i64>) -> Result<Versioned<()>, db::Error> {
        match &self.db {
            Db::Sqlite(sqlite) => {
                sqlite
                    .write(move |conn| {
                        if conn.prepare_cached(DELETE)?.execute(params![id, expected])? == 1 {
                            return Ok(Versioned::Done(()));
                        }
                        Ok(missed(current_version_sqlite(conn, id)?))
                    })
                    .await
            }
            Db::Postgres(pool) => {
                let deleted = sqlx::query(DELETE).bind(id).bind(expected).execute(pool).await?.rows_affected();
                if deleted == 1 {
                    return Ok(Versioned::Done(()));
                }
                Ok(missed(current_version_pg(pool, id).await?))
            }
        }
    }
}

/// A PostgreSQL statement with its arguments being bound.
type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds `$1` to `$8`, which INSERT and UPDATE share: the fields, the folded names the search
/// reads, and the time of the write.
fn bind_fields<'q>(query: PgQuery<'q>, fields: &PatientFields, now: DateTime<Utc>) -> PgQuery<'q> {
    query
        .bind(&fields.first_name)
        .bind(&fields.last_name)
        .bind(&fields.address)
        .bind(&fields.phone)
        .bind(&fields.email)
        .bind(fields.first_name_folded())
        .bind(fields.last_name_folded())
        .bind(now)
}

/// A versioned write matched no row: either the patient is gone or its version moved on.
fn missed<T>(current: Option<i64>) -> Versioned<T> {
    match current {
        Some(current) => Versioned::Conflict { current },
        None => Versioned::NotFound,
    }
}

fn current_version_sqlite(conn: &rusqlite::Connection, id: i64) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(CURRENT_VERSION)?.query_row([id], |row| row.get(0)).optional()
}

async fn current_version_pg(pool: &sqlx::PgPool, id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(CURRENT_VERSION).bind(id).fetch_optional(pool).await
}

fn list_sqlite(
    conn: &rusqlite::Connection,
    after_id: i64,
    pattern: &str,
    limit: i64,
) -> rusqlite::Result<Vec<Patient>> {
    conn.prepare_cached(LIST)?.query_map(params![after_id, pattern, limit], from_sqlite)?.collect()
}

/// `%query%` with LIKE's wildcards escaped, lower-cased like the folded columns; '' for none.
fn like_pattern(query: &str) -> String {
    let query = query.trim().to_lowercase();
    if query.is_empty() {
        return String::new();
    }
    let mut pattern = String::with_capacity(query.len() + 2);
    pattern.push('%');
    for c in query.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Patient> {
    // Read where the row holds it: no `String` copy to parse from.
    let instant = |index: usize| -> rusqlite::Result<DateTime<Utc>> {
        let failed = |e| rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e);
        let text = row.get_ref(index)?.as_str().map_err(|e| failed(Box::new(e)))?;
        time::parse_rfc3339(text).map_err(|e| failed(Box::new(e)))
    };
    Ok(Patient {
        id: row.get(0)?,
        first_name: row.get(1)?,
        last_name: row.get(2)?,
        address: row.get(3)?,
        phone: row.get(4)?,
        email: row.get(5)?,
        created_at: instant(6)?,
        updated_at: instant(7)?,
        version: row.get(8)?,
    })
}

fn from_pg(row: &PgRow) -> Result<Patient, sqlx::Error> {
    Ok(Patient {
        id: row.try_get(0)?,
        first_name: row.try_get(1)?,
        last_name: row.try_get(2)?,
        address: row.try_get(3)?,
        phone: row.try_get(4)?,
        email: row.try_get(5)?,
        created_at: row.try_get(6)?,
        updated_at: row.try_get(7)?,
        version: row.try_get(8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern(""), "");
        assert_eq!(like_pattern("  "), "");
        assert_eq!(like_pattern("Åsa"), "%åsa%");
        assert_eq!(like_pattern("50%_\\"), "%50\\%\\_\\\\%");
    }
}
