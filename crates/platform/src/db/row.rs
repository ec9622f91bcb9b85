//! A result row of either database, and the mapping of a model type from it, written once.
//!
//! A model implements [`FromRow`] with [`Row::get`] by column index, in the order its
//! statement's `SELECT` or `RETURNING` lists them; the same function then reads a SQLite row
//! and a PostgreSQL row. Scalars and tuples of columns are rows already (`i64`, `(i64, String)`).

use chrono::{DateTime, Utc};
use tokio_postgres::types::{FromSql, Type};

use super::Error;
use crate::time;

/// One row of a result, on either database.
#[derive(Debug)]
pub struct Row<'r>(Inner<'r>);

#[derive(Debug)]
enum Inner<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r tokio_postgres::Row),
}

impl<'r> Row<'r> {
    pub(super) fn sqlite(row: &'r rusqlite::Row<'r>) -> Self {
        Row(Inner::Sqlite(row))
    }

    pub(super) fn postgres(row: &'r tokio_postgres::Row) -> Self {
        Row(Inner::Postgres(row))
    }

    /// The value of column `index` (from 0), read as `T`; NULL only into an `Option`.
    pub fn get<T: Column>(&self, index: usize) -> Result<T, Error> {
        let read = match &self.0 {
            Inner::Sqlite(row) => row.get_ref(index).map_err(|e| e.to_string()).and_then(T::from_sqlite),
            Inner::Postgres(row) => T::from_postgres(row, index),
        };
        read.map_err(|why| Error::Other(format!("column {index}: {why}").into()))
    }
}

/// A type a column can be read as, on both databases. Sealed: the platform implements it for
/// the types both can store; a model reads those and builds its own from them.
pub trait Column: Sized + sealed::Sealed {
    /// From a SQLite value.
    #[doc(hidden)]
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String>;
    /// From column `index` of a PostgreSQL row.
    #[doc(hidden)]
    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String>;
}

mod sealed {
    pub trait Sealed {}
}

/// Reads column `index` of a PostgreSQL row as `T`, with the driver's type check.
fn pg<'a, T: FromSql<'a>>(row: &'a tokio_postgres::Row, index: usize) -> Result<T, String> {
    row.try_get(index).map_err(|e| e.to_string())
}

fn pg_type(row: &tokio_postgres::Row, index: usize) -> Result<&Type, String> {
    row.columns().get(index).map(|column| column.type_()).ok_or_else(|| "no such column".to_owned())
}

fn null_or(what: &str, value: rusqlite::types::ValueRef<'_>) -> String {
    match value {
        rusqlite::types::ValueRef::Null => format!("NULL where {what} was expected"),
        other => format!("{:?} where {what} was expected", other.data_type()),
    }
}

impl sealed::Sealed for i64 {}
impl Column for i64 {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
        value.as_i64().map_err(|_| null_or("an integer", value))
    }

    /// Any integer type: `integer` columns and `COUNT(*)` (bigint) alike.
    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String> {
        match *pg_type(row, index)? {
            Type::INT2 => pg::<i16>(row, index).map(i64::from),
            Type::INT4 => pg::<i32>(row, index).map(i64::from),
            Type::NUMERIC => Err("numeric where an integer was expected: CAST(... AS BIGINT) it".to_owned()),
            _ => pg(row, index),
        }
    }
}

impl sealed::Sealed for i32 {}
impl Column for i32 {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
        i64::from_sqlite(value).and_then(|v| i32::try_from(v).map_err(|e| e.to_string()))
    }

    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String> {
        i64::from_postgres(row, index).and_then(|v| i32::try_from(v).map_err(|e| e.to_string()))
    }
}

impl sealed::Sealed for f64 {}
impl Column for f64 {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
        match value {
            rusqlite::types::ValueRef::Integer(v) => Ok(v as f64),
            other => other.as_f64().map_err(|_| null_or("a real number", other)),
        }
    }

    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String> {
        match *pg_type(row, index)? {
            Type::FLOAT4 => pg::<f32>(row, index).map(f64::from),
            _ => pg(row, index),
        }
    }
}

impl sealed::Sealed for bool {}
impl Column for bool {
    /// SQLite has no boolean: 0 is false, any other integer true.
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
        value.as_i64().map(|v| v != 0).map_err(|_| null_or("a boolean", value))
    }

    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String> {
        pg(row, index)
    }
}

impl sealed::Sealed for String {}
impl Column for String {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
        value.as_str().map(str::to_owned).map_err(|_| null_or("text", value))
    }

    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String> {
        pg(row, index)
    }
}

impl sealed::Sealed for Vec<u8> {}
impl Column for Vec<u8> {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
        value.as_blob().map(<[u8]>::to_vec).map_err(|_| null_or("bytes", value))
    }

    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String> {
        pg(row, index)
    }
}

impl sealed::Sealed for DateTime<Utc> {}
impl Column for DateTime<Utc> {
    /// The RFC 3339 text every instant is stored as, read where the row holds it.
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
        let text = value.as_str().map_err(|_| null_or("an instant", value))?;
        time::parse_rfc3339(text).map_err(|e| format!("{text:?} is not an instant: {e}"))
    }

    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String> {
        match *pg_type(row, index)? {
            Type::TIMESTAMP => pg::<chrono::NaiveDateTime>(row, index).map(|naive| naive.and_utc()),
            _ => pg(row, index),
        }
    }
}

impl<T: Column> sealed::Sealed for Option<T> {}
impl<T: Column> Column for Option<T> {
    fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Result<Self, String> {
        match value {
            rusqlite::types::ValueRef::Null => Ok(None),
            value => T::from_sqlite(value).map(Some),
        }
    }

    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, String> {
        // The raw value tells NULL from a value without decoding it.
        match row.try_get::<_, Option<RawValue>>(index).map_err(|e| e.to_string())? {
            None => Ok(None),
            Some(_) => T::from_postgres(row, index).map(Some),
        }
    }
}

/// Any PostgreSQL value, undecoded: lets `Option<T>` see NULL before `T` reads the value.
struct RawValue;

impl<'a> FromSql<'a> for RawValue {
    fn from_sql(_: &Type, _: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawValue)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A type built from one result row; implemented once per model, for both databases.
pub trait FromRow: Sized {
    /// Reads the row's columns by index.
    fn from_row(row: &Row<'_>) -> Result<Self, Error>;
}

macro_rules! scalar_rows {
    ($($t:ty),*) => {$(
        impl FromRow for $t {
            fn from_row(row: &Row<'_>) -> Result<Self, Error> {
                row.get(0)
            }
        }
        impl FromRow for Option<$t> {
            fn from_row(row: &Row<'_>) -> Result<Self, Error> {
                row.get(0)
            }
        }
    )*};
}

scalar_rows!(i64, i32, f64, bool, String, Vec<u8>, DateTime<Utc>);

macro_rules! tuple_rows {
    ($(($($t:ident $i:tt),+)),*) => {$(
        impl<$($t: Column),+> FromRow for ($($t,)+) {
            fn from_row(row: &Row<'_>) -> Result<Self, Error> {
                Ok(($(row.get::<$t>($i)?,)+))
            }
        }
    )*};
}

tuple_rows!((A 0, B 1), (A 0, B 1, C 2), (A 0, B 1, C 2, D 3), (A 0, B 1, C 2, D 3, E 4));
