//! Statements written once and run on either database: the SQL text, its parameters bound to
//! `$1`, `$2`... by number, and the row mapping ([`FromRow`]).
//!
//! On SQLite, reads run inline on a free read connection (point reads take microseconds, less
//! than a thread hop), [`Db::scan`] runs reads that may scan on the blocking pool, and every
//! write runs on the writer thread inside its group commit. On PostgreSQL every statement is
//! prepared once per pooled connection and cached.
//!
//! SQLite numbers `$N` placeholders by their first appearance, not by N, so positional
//! binding would bind `WHERE a = $2 AND b = $1` silently wrong. Here each placeholder is bound
//! by its own number on both databases, and a statement whose placeholders are not exactly
//! `$1`..`$n` for its n values is refused with an error naming the mismatch.

use std::{
    borrow::Cow,
    future::Future,
    pin::Pin,
    task::{Context, Poll, Waker},
};

use tokio_postgres::types::ToSql;

use super::{Db, Error, FromRow, Row, Value, sqlite::SharedConnection};

/// A statement and the values of its placeholders.
#[derive(Clone, Debug)]
#[must_use = "a query does nothing until it is run"]
pub struct Query {
    sql: Cow<'static, str>,
    params: Vec<Value>,
}

/// A statement with `$1`, `$2`... placeholders, to [`Query::bind`] values to in that order.
pub fn query(sql: impl Into<Cow<'static, str>>) -> Query {
    Query { sql: sql.into(), params: Vec::new() }
}

impl Query {
    /// Binds the next placeholder: the first call binds `$1`, the second `$2`, wherever they
    /// appear in the text.
    pub fn bind(mut self, value: impl Into<Value>) -> Self {
        self.params.push(value.into());
        self
    }

    /// The statement's text.
    pub fn sql(&self) -> &str {
        &self.sql
    }
}

/// The isolation a PostgreSQL transaction runs at. SQLite's writer runs one transaction at a
/// time, which is serializable whatever is asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Isolation {
    /// Each statement sees what was committed before it began (PostgreSQL's default).
    #[default]
    ReadCommitted,
    /// Every statement sees the snapshot of the transaction's first.
    RepeatableRead,
    /// As if the transactions ran one after another. A transaction that cannot be ordered fails
    /// with [`Error::Unavailable`] (PostgreSQL's serialization failure): the client may retry.
    Serializable,
}

/// The future a transaction's work is written as (see [`Db::transaction`]).
pub type TxFuture<'t, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 't>>;

/// An open transaction: statements run through it commit together or not at all.
#[derive(Debug)]
pub struct Tx<'c>(TxInner<'c>);

enum TxInner<'c> {
    Sqlite(&'c SharedConnection),
    Postgres(deadpool_postgres::Transaction<'c>),
}

impl std::fmt::Debug for TxInner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TxInner::Sqlite(_) => "Sqlite",
            TxInner::Postgres(_) => "Postgres",
        })
    }
}

impl Tx<'_> {
    /// The first row of the result; an error when there is none.
    pub async fn fetch_one<T: FromRow>(&mut self, query: Query) -> Result<T, Error> {
        self.fetch_optional(query).await?.ok_or_else(no_row)
    }

    /// The first row of the result, if any.
    pub async fn fetch_optional<T: FromRow>(&mut self, query: Query) -> Result<Option<T>, Error> {
        Ok(self.rows(query, Some(1)).await?.pop())
    }

    /// Every row of the result.
    pub async fn fetch_all<T: FromRow>(&mut self, query: Query) -> Result<Vec<T>, Error> {
        self.rows(query, None).await
    }

    /// Runs a statement that returns no rows; answers how many rows it changed.
    pub async fn execute(&mut self, query: Query) -> Result<u64, Error> {
        match &self.0 {
            TxInner::Sqlite(shared) => {
                let conn = shared.lock();
                sqlite_execute(&conn, &query)
            }
            TxInner::Postgres(tx) => {
                let statement = tx.prepare_cached(&query.sql).await?;
                Ok(tx.execute(&statement, &pg_params(&query)).await?)
            }
        }
    }

    /// Runs a script of statements without parameters (migrations).
    pub(super) async fn execute_script(&mut self, script: &str) -> Result<(), Error> {
        match &self.0 {
            TxInner::Sqlite(shared) => Ok(shared.lock().execute_batch(script)?),
            TxInner::Postgres(tx) => Ok(tx.batch_execute(script).await?),
        }
    }

    async fn rows<T: FromRow>(&mut self, query: Query, limit: Option<usize>) -> Result<Vec<T>, Error> {
        match &self.0 {
            TxInner::Sqlite(shared) => {
                let conn = shared.lock();
                sqlite_rows(&conn, &query, limit)
            }
            TxInner::Postgres(tx) => {
                let statement = tx.prepare_cached(&query.sql).await?;
                pg_rows(tx.query(&statement, &pg_params(&query)).await?, limit)
            }
        }
    }
}

impl Db {
    /// Reads the first row of the result; an error when there is none.
    pub async fn fetch_one<T: FromRow + Send + 'static>(&self, query: Query) -> Result<T, Error> {
        self.fetch_optional(query).await?.ok_or_else(no_row)
    }

    /// Reads the first row of the result, if any.
    pub async fn fetch_optional<T: FromRow + Send + 'static>(&self, query: Query) -> Result<Option<T>, Error> {
        Ok(self.read(query, Some(1), false).await?.pop())
    }

    /// Reads every row of a short result (a page by an index).
    pub async fn fetch_all<T: FromRow + Send + 'static>(&self, query: Query) -> Result<Vec<T>, Error> {
        self.read(query, None, false).await
    }

    /// Reads every row of a result that may scan a table; on SQLite it runs on the blocking
    /// pool so that it never holds an async worker thread.
    pub async fn scan<T: FromRow + Send + 'static>(&self, query: Query) -> Result<Vec<T>, Error> {
        self.read(query, None, true).await
    }

    /// Runs one writing statement that returns rows (`INSERT ... RETURNING`), committed on its
    /// own, and answers its first row, if any.
    pub async fn write_optional<T: FromRow + Send + 'static>(&self, query: Query) -> Result<Option<T>, Error> {
        match self {
            Db::Sqlite(db) => {
                db.write(move |shared| {
                    let conn = shared.lock();
                    Ok(sqlite_rows(&conn, &query, Some(1))?.pop())
                })
                .await
            }
            Db::Postgres(pg) => {
                let client = pg.pool.get().await?;
                let statement = client.prepare_cached(&query.sql).await?;
                Ok(pg_rows(client.query(&statement, &pg_params(&query)).await?, Some(1))?.pop())
            }
        }
    }

    /// Like [`Db::write_optional`]; an error when the statement returns no row.
    pub async fn write_one<T: FromRow + Send + 'static>(&self, query: Query) -> Result<T, Error> {
        self.write_optional(query).await?.ok_or_else(no_row)
    }

    /// Runs one writing statement that returns no rows, committed on its own; answers how many
    /// rows it changed.
    pub async fn execute(&self, query: Query) -> Result<u64, Error> {
        match self {
            Db::Sqlite(db) => {
                db.write(move |shared| {
                    let conn = shared.lock();
                    sqlite_execute(&conn, &query)
                })
                .await
            }
            Db::Postgres(pg) => {
                let client = pg.pool.get().await?;
                let statement = client.prepare_cached(&query.sql).await?;
                Ok(client.execute(&statement, &pg_params(&query)).await?)
            }
        }
    }

    /// Runs `work` as one transaction: committed when it returns `Ok`, rolled back when it
    /// returns `Err` (or panics, or its caller gives up), so a failed request writes nothing.
    ///
    /// `work` is written once for both databases, as `|tx| Box::pin(async move { ... })`
    /// using only `tx`'s statements. On SQLite it runs on the writer thread, in its own
    /// savepoint of the next group commit, and must await nothing but `tx`: a transaction that
    /// waits on anything else (a timer, another request) fails with [`Error::Other`]. On
    /// PostgreSQL it runs at `isolation`.
    ///
    /// ```ignore
    /// let total = db.transaction(Isolation::ReadCommitted, move |tx| Box::pin(async move {
    ///     tx.execute(query("UPDATE events SET reimbursed = TRUE WHERE id = $1").bind(id)).await?;
    ///     tx.fetch_one::<i64>(query("SELECT count(*) FROM events WHERE reimbursed")).await
    /// })).await?;
    /// ```
    pub async fn transaction<T, E, F>(&self, isolation: Isolation, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
        F: for<'t> FnOnce(&'t mut Tx<'_>) -> TxFuture<'t, T, E> + Send + 'static,
    {
        match self {
            Db::Sqlite(db) => {
                db.write(move |shared| {
                    let mut tx = Tx(TxInner::Sqlite(shared));
                    let mut future = work(&mut tx);
                    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                        Poll::Ready(outcome) => outcome,
                        Poll::Pending => Err(E::from(Error::Other(
                            "a SQLite transaction awaited something other than its own statements".into(),
                        ))),
                    }
                })
                .await
            }
            Db::Postgres(pg) => {
                let mut client = pg.pool.get().await.map_err(Error::from)?;
                let level = match isolation {
                    Isolation::ReadCommitted => tokio_postgres::IsolationLevel::ReadCommitted,
                    Isolation::RepeatableRead => tokio_postgres::IsolationLevel::RepeatableRead,
                    Isolation::Serializable => tokio_postgres::IsolationLevel::Serializable,
                };
                let transaction =
                    client.build_transaction().isolation_level(level).start().await.map_err(Error::from)?;
                let mut tx = Tx(TxInner::Postgres(transaction));
                let outcome = work(&mut tx).await;
                let TxInner::Postgres(transaction) = tx.0 else {
                    return Err(E::from(Error::Other("a PostgreSQL transaction changed kind".into())));
                };
                match outcome {
                    Ok(value) => {
                        transaction.commit().await.map_err(Error::from)?;
                        Ok(value)
                    }
                    Err(error) => {
                        // Dropping the transaction would roll back too, but without waiting.
                        let _ = transaction.rollback().await;
                        Err(error)
                    }
                }
            }
        }
    }

    async fn read<T: FromRow + Send + 'static>(
        &self,
        query: Query,
        limit: Option<usize>,
        may_scan: bool,
    ) -> Result<Vec<T>, Error> {
        match self {
            Db::Sqlite(db) if may_scan => db.read_off_thread(move |conn| sqlite_rows(conn, &query, limit)).await,
            Db::Sqlite(db) => db.read_soon(move |conn| sqlite_rows(conn, &query, limit)).await,
            Db::Postgres(pg) => {
                let client = pg.pool.get().await?;
                let statement = client.prepare_cached(&query.sql).await?;
                pg_rows(client.query(&statement, &pg_params(&query)).await?, limit)
            }
        }
    }
}

fn no_row() -> Error {
    Error::Other("the statement returned no row where one was expected".into())
}

/// Binds each placeholder `$N` of `statement` to `params[N - 1]`, by name, since SQLite
/// numbers placeholders by first appearance.
fn bind_sqlite(statement: &mut rusqlite::Statement<'_>, sql: &str, params: &[Value]) -> Result<(), Error> {
    let count = statement.parameter_count();
    let refuse = |why: String| Error::Other(format!("{why}, in: {sql}").into());
    if count != params.len() {
        return Err(refuse(format!("the statement has {count} placeholders and {} values are bound", params.len())));
    }
    for index in 1..=count {
        let name = statement.parameter_name(index).unwrap_or("?");
        let value = name
            .strip_prefix('$')
            .and_then(|number| number.parse::<usize>().ok())
            .and_then(|number| number.checked_sub(1))
            .and_then(|at| params.get(at))
            .ok_or_else(|| {
                refuse(format!("placeholder {name} is not one of $1 to ${count}: write placeholders as $1, $2..."))
            })?;
        statement.raw_bind_parameter(index, value)?;
    }
    Ok(())
}

fn sqlite_rows<T: FromRow>(conn: &rusqlite::Connection, query: &Query, limit: Option<usize>) -> Result<Vec<T>, Error> {
    let mut statement = conn.prepare_cached(&query.sql)?;
    bind_sqlite(&mut statement, &query.sql, &query.params)?;
    let mut rows = statement.raw_query();
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        found.push(T::from_row(&Row::sqlite(row))?);
        if limit.is_some_and(|limit| found.len() >= limit) {
            break;
        }
    }
    Ok(found)
}

fn sqlite_execute(conn: &rusqlite::Connection, query: &Query) -> Result<u64, Error> {
    let mut statement = conn.prepare_cached(&query.sql)?;
    bind_sqlite(&mut statement, &query.sql, &query.params)?;
    Ok(statement.raw_execute()? as u64)
}

fn pg_params(query: &Query) -> Vec<&(dyn ToSql + Sync)> {
    query.params.iter().map(|value| value as &(dyn ToSql + Sync)).collect()
}

fn pg_rows<T: FromRow>(rows: Vec<tokio_postgres::Row>, limit: Option<usize>) -> Result<Vec<T>, Error> {
    let take = limit.unwrap_or(usize::MAX);
    rows.iter().take(take).map(|row| T::from_row(&Row::postgres(row))).collect()
}
