//! Patients SQL, written once for both databases: each statement, its parameters and the row
//! mapping once; the platform runs them on SQLite or PostgreSQL. Versions are checked inside
//! the UPDATE itself, never by a read-then-write.

use ferrum_platform::{
    db::{self, Db, FromRow, Isolation, Query, Row, Tx, query},
    http::paging::Limit,
    time,
};

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
pub struct ListPage<'a> {
    /// Only ids above this.
    pub after_id: i64,
    /// Case-insensitive substring of the first or last name; empty for all.
    pub query: &'a str,
    /// The page's size.
    pub limit: Limit,
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
        self.db.write_one(with_fields(query(INSERT), &fields)).await
    }

    /// The patient with this id, if any.
    pub async fn find(&self, id: i64) -> Result<Option<Patient>, db::Error> {
        self.db.fetch_optional(query(FIND).bind(id)).await
    }

    /// One page of patients ordered by id.
    pub async fn list(&self, page: &ListPage<'_>) -> Result<Vec<Patient>, db::Error> {
        // No name holds U+0000 (the model refuses it), and PostgreSQL cannot even take it in a
        // parameter: such a search matches nothing, on both databases.
        if page.query.contains('\0') {
            return Ok(Vec::new());
        }
        let pattern = like_pattern(page.query);
        let searching = !pattern.is_empty();
        let list = query(LIST).bind(page.after_id).bind(pattern).bind(page.limit.fetch());
        // A search may scan the table: keep it off the async threads.
        if searching { self.db.scan(list).await } else { self.db.fetch_all(list).await }
    }

    /// Replaces the fields of a patient whose version is `expected` (any version when `None`).
    pub async fn update_versioned(
        &self,
        id: i64,
        fields: PatientFields,
        expected: Option<i64>,
    ) -> Result<Versioned<Patient>, db::Error> {
        let update = with_fields(query(UPDATE), &fields).bind(id).bind(expected);
        self.db
            .transaction(Isolation::ReadCommitted, move |tx| {
                Box::pin(async move {
                    match tx.fetch_optional(update).await? {
                        Some(patient) => Ok(Versioned::Done(patient)),
                        None => missed(tx, id).await,
                    }
                })
            })
            .await
    }

    /// Deletes a patient whose version is `expected` (any version when `None`).
    pub async fn delete_versioned(&self, id: i64, expected: Option<i64>) -> Result<Versioned<()>, db::Error> {
        let delete = query(DELETE).bind(id).bind(expected);
        self.db
            .transaction(Isolation::ReadCommitted, move |tx| {
                Box::pin(async move {
                    if tx.execute(delete).await? == 1 {
                        return Ok(Versioned::Done(()));
                    }
                    missed(tx, id).await
                })
            })
            .await
    }
}

/// Binds `$1` to `$8`, which INSERT and UPDATE share: the fields, the folded names the search
/// reads, and the time of the write.
fn with_fields(statement: Query, fields: &PatientFields) -> Query {
    statement
        .bind(&fields.first_name)
        .bind(&fields.last_name)
        .bind(&fields.address)
        .bind(&fields.phone)
        .bind(&fields.email)
        .bind(fields.first_name_folded())
        .bind(fields.last_name_folded())
        .bind(time::now())
}

/// A versioned write matched no row: either the patient is gone or its version moved on.
async fn missed<T>(tx: &mut Tx<'_>, id: i64) -> Result<Versioned<T>, db::Error> {
    Ok(match tx.fetch_optional::<i64>(query(CURRENT_VERSION).bind(id)).await? {
        Some(current) => Versioned::Conflict { current },
        None => Versioned::NotFound,
    })
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

impl FromRow for Patient {
    fn from_row(row: &Row<'_>) -> Result<Self, db::Error> {
        Ok(Patient {
            id: row.get(0)?,
            first_name: row.get(1)?,
            last_name: row.get(2)?,
            address: row.get(3)?,
            phone: row.get(4)?,
            email: row.get(5)?,
            created_at: row.get(6)?,
            updated_at: row.get(7)?,
            version: row.get(8)?,
        })
    }
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
