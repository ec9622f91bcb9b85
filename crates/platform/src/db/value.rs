//! Values bound to a statement's `$N` placeholders, one type for both databases.
//!
//! Each value is converted to the driver's own type at the moment it is bound: on SQLite an
//! instant is stored as its RFC 3339 text (one fixed shape, so text order is time order) and a
//! boolean as 0 or 1; on PostgreSQL each value is encoded as the type the server inferred for
//! its placeholder, and a value that does not fit that type is refused with the placeholder's
//! number rather than sent as garbage.

use std::{error::Error as StdError, fmt};

use bytes::BytesMut;
use chrono::{DateTime, Utc};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use crate::time;

/// One parameter of a statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL NULL (an absent `Option`).
    Null,
    /// An integer; PostgreSQL takes it as `smallint`, `integer` or `bigint` as inferred.
    Int(i64),
    /// A floating-point number (`double precision`, SQLite `REAL`).
    Real(f64),
    /// Text.
    Text(String),
    /// A boolean (SQLite stores 0 or 1).
    Bool(bool),
    /// An instant (PostgreSQL `timestamptz`, SQLite RFC 3339 text).
    Instant(DateTime<Utc>),
    /// Bytes (`bytea`, SQLite `BLOB`).
    Bytes(Vec<u8>),
}

macro_rules! value_from {
    ($($from:ty => |$v:ident| $to:expr),* $(,)?) => {$(
        impl From<$from> for Value {
            fn from($v: $from) -> Self {
                $to
            }
        }
    )*};
}

value_from! {
    i64 => |v| Value::Int(v),
    i32 => |v| Value::Int(i64::from(v)),
    u32 => |v| Value::Int(i64::from(v)),
    i16 => |v| Value::Int(i64::from(v)),
    f64 => |v| Value::Real(v),
    bool => |v| Value::Bool(v),
    String => |v| Value::Text(v),
    &str => |v| Value::Text(v.to_owned()),
    &String => |v| Value::Text(v.clone()),
    DateTime<Utc> => |v| Value::Instant(v),
    &DateTime<Utc> => |v| Value::Instant(*v),
    Vec<u8> => |v| Value::Bytes(v),
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

impl Value {
    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Int(_) => "an integer",
            Value::Real(_) => "a real number",
            Value::Text(_) => "text",
            Value::Bool(_) => "a boolean",
            Value::Instant(_) => "an instant",
            Value::Bytes(_) => "bytes",
        }
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Bool(v) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*v))),
            Value::Instant(v) => ToSqlOutput::Owned(rusqlite::types::Value::Text(time::to_rfc3339(v))),
            Value::Bytes(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

/// A value that does not fit the type PostgreSQL inferred for its placeholder.
#[derive(Debug)]
struct Mismatch {
    kind: &'static str,
    ty: Type,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bound where the statement expects {}", self.kind, self.ty)
    }
}

impl StdError for Mismatch {}

type Encoded = Result<IsNull, Box<dyn StdError + Sync + Send>>;

/// Encodes `value` as `T` when `T` accepts the placeholder's type.
fn encode<T: ToSql>(value: T, kind: &'static str, ty: &Type, out: &mut BytesMut) -> Encoded {
    if !T::accepts(ty) {
        return Err(Box::new(Mismatch { kind, ty: ty.clone() }));
    }
    value.to_sql(ty, out)
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Encoded {
        let kind = self.kind();
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT2 => encode(i16::try_from(*v)?, kind, ty, out),
                Type::INT4 => encode(i32::try_from(*v)?, kind, ty, out),
                _ => encode(*v, kind, ty, out),
            },
            Value::Real(v) => encode(*v, kind, ty, out),
            Value::Text(v) => encode(v.as_str(), kind, ty, out),
            Value::Bool(v) => encode(*v, kind, ty, out),
            Value::Instant(v) => match *ty {
                Type::TIMESTAMP => encode(v.naive_utc(), kind, ty, out),
                _ => encode(*v, kind, ty, out),
            },
            Value::Bytes(v) => encode(v.as_slice(), kind, ty, out),
        }
    }

    // Every value goes to `to_sql`, which checks the placeholder's type per variant.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}
