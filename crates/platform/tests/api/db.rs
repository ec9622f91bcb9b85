//! The query layer on both databases: types and NULLs round-trip, placeholders bind by number,
//! transactions commit whole or not at all.

use chrono::{DateTime, TimeZone, Utc};
use ferrum_platform::db::{self, Backend as DbBackend, Db, FromRow, Isolation, Row, query};
use ferrum_testkit::{Backend, TestDb, both_backends};

/// A table with a column of each type a module stores.
async fn things(backend: Backend) -> TestDb {
    let test = TestDb::new(backend, &[]).await;
    let ddl = match test.db.backend() {
        DbBackend::Sqlite => {
            "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT, at TEXT, flag INTEGER, amount BIGINT, \
             ratio REAL, blob BLOB)"
        }
        DbBackend::Postgres => {
            "CREATE TABLE things (id BIGINT PRIMARY KEY, name TEXT, at TIMESTAMPTZ, flag BOOLEAN, amount BIGINT, \
             ratio DOUBLE PRECISION, blob BYTEA)"
        }
    };
    test.db.execute(query(ddl)).await.unwrap();
    test
}

#[derive(Debug, PartialEq)]
struct Thing {
    id: i64,
    name: Option<String>,
    at: Option<DateTime<Utc>>,
    flag: Option<bool>,
    amount: Option<i64>,
    ratio: Option<f64>,
    blob: Option<Vec<u8>>,
}

impl FromRow for Thing {
    fn from_row(row: &Row<'_>) -> Result<Self, db::Error> {
        Ok(Thing {
            id: row.get(0)?,
            name: row.get(1)?,
            at: row.get(2)?,
            flag: row.get(3)?,
            amount: row.get(4)?,
            ratio: row.get(5)?,
            blob: row.get(6)?,
        })
    }
}

const INSERT: &str = "INSERT INTO things (id, name, at, flag, amount, ratio, blob) VALUES ($1, $2, $3, $4, $5, $6, $7) \
     RETURNING id, name, at, flag, amount, ratio, blob";

fn insert(thing: &Thing) -> db::Query {
    query(INSERT)
        .bind(thing.id)
        .bind(thing.name.clone())
        .bind(thing.at)
        .bind(thing.flag)
        .bind(thing.amount)
        .bind(thing.ratio)
        .bind(thing.blob.clone())
}

async fn values_and_nulls_round_trip(backend: Backend) {
    let test = things(backend).await;
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::microseconds(123_456);
    let full = Thing {
        id: 1,
        name: Some("Åsa \u{1F600}".into()),
        at: Some(at),
        flag: Some(true),
        amount: Some(i64::MAX),
        ratio: Some(0.1),
        blob: Some(vec![0, 255, 7]),
    };
    let empty = Thing { id: 2, name: None, at: None, flag: None, amount: None, ratio: None, blob: None };
    assert_eq!(test.db.write_one::<Thing>(insert(&full)).await.unwrap(), full);
    assert_eq!(test.db.write_one::<Thing>(insert(&empty)).await.unwrap(), empty);
    let read: Vec<Thing> = test
        .db
        .fetch_all(query("SELECT id, name, at, flag, amount, ratio, blob FROM things ORDER BY id"))
        .await
        .unwrap();
    assert_eq!(read, [full, empty]);
    let none: Option<Thing> = test
        .db
        .fetch_optional(query("SELECT id, name, at, flag, amount, ratio, blob FROM things WHERE id = $1").bind(3))
        .await
        .unwrap();
    assert_eq!(none, None);
    // NULL into a non-Option is refused with the column named, not read as a default.
    let error = test.db.fetch_one::<String>(query("SELECT name FROM things WHERE id = 2")).await.unwrap_err();
    assert!(error.to_string().contains("column 0"), "{error}");
}

/// `$2` before `$1` in the text still binds the second value to `$2` (SQLite numbers
/// placeholders by first appearance; the layer binds by number).
async fn placeholders_bind_by_number(backend: Backend) {
    let test = TestDb::new(backend, &[]).await;
    let difference: i64 =
        test.db.fetch_one(query("SELECT CAST($2 AS BIGINT) - CAST($1 AS BIGINT)").bind(10).bind(3)).await.unwrap();
    assert_eq!(difference, -7);
    let repeated: (i64, String) = test
        .db
        .fetch_one(query("SELECT CAST($2 AS BIGINT) * CAST($2 AS BIGINT), CAST($1 AS TEXT)").bind("x").bind(4))
        .await
        .unwrap();
    assert_eq!(repeated, (16, "x".to_owned()));
}

async fn a_placeholder_without_a_value_is_refused(backend: Backend) {
    let test = TestDb::new(backend, &[]).await;
    let missing = test.db.fetch_one::<i64>(query("SELECT CAST($1 AS BIGINT) + CAST($2 AS BIGINT)").bind(1)).await;
    let error = missing.unwrap_err();
    assert!(matches!(error, db::Error::Other(_)), "{error}");
    assert!(error.to_string().contains('2') || error.to_string().contains("placeholder"), "{error}");
    let extra = test.db.fetch_one::<i64>(query("SELECT CAST($1 AS BIGINT)").bind(1).bind(2)).await.unwrap_err();
    assert!(matches!(extra, db::Error::Other(_)), "{extra}");
}

/// A failed statement's error carries the database's own reason, for the log that reports it.
async fn an_error_says_why(backend: Backend) {
    let test = things(backend).await;
    let error = test.db.execute(query("SELECT no_such_column FROM things")).await.unwrap_err();
    assert!(error.to_string().contains("no_such_column"), "{error}");
}

async fn a_failed_transaction_writes_nothing(backend: Backend) {
    let test = things(backend).await;
    let failed = test
        .db
        .transaction(Isolation::ReadCommitted, |tx| {
            Box::pin(async move {
                tx.execute(query("INSERT INTO things (id, name) VALUES (1, 'first')")).await?;
                tx.execute(query("UPDATE things SET name = 'changed' WHERE id = 1")).await?;
                // The same key again: the whole transaction goes, the first insert with it.
                tx.execute(query("INSERT INTO things (id, name) VALUES (1, 'again')")).await?;
                Ok::<_, db::Error>(())
            })
        })
        .await;
    assert!(matches!(failed, Err(db::Error::UniqueViolation)), "{failed:?}");
    let count: i64 = test.db.fetch_one(query("SELECT count(*) FROM things")).await.unwrap();
    assert_eq!(count, 0);
}

/// A module's own error rolls the transaction back too, and comes back as itself.
async fn a_domain_error_rolls_back(backend: Backend) {
    #[derive(Debug, PartialEq)]
    enum Refused {
        TooMany(i64),
        Db(String),
    }
    impl From<db::Error> for Refused {
        fn from(error: db::Error) -> Self {
            Refused::Db(error.to_string())
        }
    }
    let test = things(backend).await;
    let outcome = test
        .db
        .transaction(Isolation::Serializable, |tx| {
            Box::pin(async move {
                tx.execute(query("INSERT INTO things (id, amount) VALUES ($1, $2)").bind(1).bind(5)).await?;
                tx.execute(query("INSERT INTO things (id, amount) VALUES ($1, $2)").bind(2).bind(7)).await?;
                let total: i64 = tx.fetch_one(query("SELECT CAST(SUM(amount) AS BIGINT) FROM things")).await?;
                if total > 10 {
                    return Err(Refused::TooMany(total));
                }
                Ok(total)
            })
        })
        .await;
    assert_eq!(outcome, Err(Refused::TooMany(12)));
    let count: i64 = test.db.fetch_one(query("SELECT count(*) FROM things")).await.unwrap();
    assert_eq!(count, 0);

    let committed = test
        .db
        .transaction(Isolation::RepeatableRead, |tx| {
            Box::pin(async move {
                tx.execute(query("INSERT INTO things (id, amount) VALUES ($1, $2)").bind(1).bind(5)).await?;
                tx.fetch_one::<i64>(query("SELECT count(*) FROM things")).await
            })
        })
        .await;
    assert_eq!(committed.unwrap(), 1);
    let amount: i64 = test.db.fetch_one(query("SELECT amount FROM things WHERE id = 1")).await.unwrap();
    assert_eq!(amount, 5);
}

/// Concurrent transactions that each read then write one counter: none is lost.
async fn concurrent_transactions_lose_no_update(backend: Backend) {
    let test = things(backend).await;
    test.db.execute(query("INSERT INTO things (id, amount) VALUES (1, 0)")).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let db: Db = test.db.clone();
            tokio::spawn(async move {
                db.transaction(Isolation::ReadCommitted, |tx| {
                    Box::pin(async move {
                        tx.execute(query("UPDATE things SET amount = amount + 1 WHERE id = 1")).await?;
                        Ok::<_, db::Error>(())
                    })
                })
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let amount: i64 = test.db.fetch_one(query("SELECT amount FROM things WHERE id = 1")).await.unwrap();
    assert_eq!(amount, 20);
}

both_backends!(
    values_and_nulls_round_trip,
    placeholders_bind_by_number,
    a_placeholder_without_a_value_is_refused,
    an_error_says_why,
    a_failed_transaction_writes_nothing,
    a_domain_error_rolls_back,
    concurrent_transactions_lose_no_update,
);
