//! Embedded SQLite through rusqlite.
//!
//! Reads run inline on the calling thread on one of a few read-only connections, with cached
//! prepared statements: measured here at about 2.5x the throughput of sqlx's SQLite driver,
//! whose every query hops to a worker thread and back (ARCHITECTURE.md, "Facts measured").
//! Writes go to one writer thread that commits them in groups: each request runs in its own
//! savepoint (so a failed request writes nothing), and one fsync'd COMMIT acknowledges the whole
//! group. That keeps "a 2xx means durable" (synchronous=FULL) without paying one fsync per
//! request, and no write ever sees "database is locked" from a sibling in this process.

use std::{
    panic::AssertUnwindSafe,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use parking_lot::ReentrantMutex;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};
use url::Url;

use super::Error;
use crate::telemetry::RequestScope;

/// A connection the writer thread holds for a whole group while each request's work locks it
/// again (re-entrant, same thread) for its own statements. Re-entrant rather than passed as
/// `&Connection`, because `Connection` is not `Sync`: a reference to it could not live in the
/// `Send` future a transaction is written as (`super::Tx`).
pub(super) type SharedConnection = ReentrantMutex<Connection>;

/// How many queued writes one transaction may carry.
const MAX_GROUP: usize = 256;
/// How long a connection waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the SQLite database lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A file, created on first use.
    File(PathBuf),
    /// A private in-memory database (gone with the process).
    Memory,
}

impl Location {
    /// Reads `sqlite://PATH`, `sqlite:///ABSOLUTE`, `sqlite:PATH` or `sqlite::memory:`. The
    /// path is percent-decoded: a URL holds `/srv/my data/x.db` as `/srv/my%20data/x.db`.
    pub fn from_url(url: &Url) -> Self {
        let path = if url.cannot_be_a_base() {
            url.path().to_owned()
        } else {
            format!("{}{}", url.host_str().unwrap_or(""), url.path())
        };
        let path = percent_encoding::percent_decode_str(&path).decode_utf8_lossy();
        if path == ":memory:" || path.is_empty() { Location::Memory } else { Location::File(PathBuf::from(&*path)) }
    }
}

/// An open SQLite database: read connections plus the writer thread.
#[derive(Debug)]
pub struct SqliteDb {
    readers: Box<[Arc<SharedConnection>]>,
    next_reader: AtomicUsize,
    /// Reads that found every read connection busy and waited for one (metrics).
    read_waits: AtomicU64,
    /// Distinct open connections: the readers and the writer (one, shared, in memory).
    connections: usize,
    writer: mpsc::Sender<Message>,
}

/// What the metrics show of an open SQLite database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SqliteStats {
    /// Open connections, the writer's included; all are opened up front.
    pub connections: usize,
    /// Reads so far that found every read connection busy and waited for one.
    pub read_waits: u64,
    /// Writes queued for the writer thread right now.
    pub queued_writes: usize,
}

enum Message {
    Write(Box<dyn WriteJob>),
    Close(oneshot::Sender<()>),
}

impl SqliteDb {
    /// Opens (creating if needed) the database and starts the writer thread.
    pub fn open(location: &Location) -> Result<Self, Error> {
        let writer_conn = match location {
            Location::File(path) => {
                let conn = Connection::open(path)?;
                // WAL lets readers run beside the writer; FULL syncs the WAL at every commit,
                // which is what makes an acknowledged write durable.
                conn.pragma_update(None, "journal_mode", "WAL")?;
                conn
            }
            Location::Memory => Connection::open_in_memory()?,
        };
        configure(&writer_conn)?;
        writer_conn.pragma_update(None, "synchronous", "FULL")?;
        let writer_conn = Arc::new(ReentrantMutex::new(writer_conn));

        let readers: Vec<Arc<SharedConnection>> = match location {
            Location::File(path) => {
                let count = std::thread::available_parallelism().map_or(4, |n| n.get() * 2).max(4);
                (0..count)
                    .map(|_| {
                        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                        let conn = Connection::open_with_flags(path, flags)?;
                        configure(&conn)?;
                        Ok(Arc::new(ReentrantMutex::new(conn)))
                    })
                    .collect::<Result<_, Error>>()?
            }
            // A memory database exists once per connection: readers share the writer's.
            Location::Memory => vec![writer_conn.clone()],
        };

        let connections = match location {
            Location::File(_) => readers.len() + 1,
            Location::Memory => 1,
        };
        let (sender, receiver) = mpsc::channel(4 * MAX_GROUP);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(&writer_conn, receiver))
            .map_err(|e| Error::Other(format!("cannot start the SQLite writer: {e}").into()))?;
        Ok(Self {
            readers: readers.into_boxed_slice(),
            next_reader: AtomicUsize::new(0),
            read_waits: AtomicU64::new(0),
            connections,
            writer: sender,
        })
    }

    /// Runs a short read inline on the calling thread when a read connection is free: for
    /// point reads and small pages that take microseconds, where a thread hop would cost more
    /// than the query. When every reader is busy the read waits for one on the blocking pool,
    /// never on an async worker thread.
    pub(super) async fn read_soon<T, F>(self: &Arc<Self>, read: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let count = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed) % count;
        for offset in 0..count {
            if let Some(conn) = self.readers[(start + offset) % count].try_lock() {
                return read(&conn);
            }
        }
        self.read_waits.fetch_add(1, Ordering::Relaxed);
        self.read_blocking(start, read).await
    }

    /// Runs a read that may scan on the blocking pool, keeping the async threads free.
    pub(super) async fn read_off_thread<T, F>(self: &Arc<Self>, read: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.read_blocking(start, read).await
    }

    async fn read_blocking<T, F>(self: &Arc<Self>, start: usize, read: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let db = Arc::clone(self);
        let scope = RequestScope::current();
        tokio::task::spawn_blocking(move || {
            scope.run(|| {
                let count = db.readers.len();
                let free = (0..count).find_map(|offset| db.readers[(start + offset) % count].try_lock());
                let conn = free.unwrap_or_else(|| db.readers[start].lock());
                read(&conn)
            })
        })
        .await
        .map_err(|e| Error::Other(format!("read task failed: {e}").into()))?
    }

    /// Connections, read waits and the write queue, for metrics; a few atomic loads.
    pub fn stats(&self) -> SqliteStats {
        SqliteStats {
            connections: self.connections,
            read_waits: self.read_waits.load(Ordering::Relaxed),
            // The channel's free slots go down by one per queued message.
            queued_writes: self.writer.max_capacity() - self.writer.capacity(),
        }
    }

    /// Runs `write` in its own savepoint inside the writer's next group commit and answers
    /// once that commit is on disk. An `Err` from `write` rolls back its savepoint only.
    /// Log lines of `write` carry the request id of its caller.
    pub(super) async fn write<T, E, F>(&self, write: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
        F: FnOnce(&SharedConnection) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Job { work: Some((RequestScope::current(), write)), outcome: None, reply });
        self.writer
            .send(Message::Write(job))
            .await
            .map_err(|_| E::from(Error::Unavailable("the database is closed".into())))?;
        answer.await.map_err(|_| E::from(Error::Other("the write was dropped by the writer".into())))?
    }

    /// Lets the writer finish what is queued, then closes its connection.
    pub async fn close(&self) {
        let (ack, done) = oneshot::channel();
        if self.writer.send(Message::Close(ack)).await.is_ok() {
            let _ = done.await;
        }
    }
}

fn configure(conn: &Connection) -> Result<(), Error> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// A queued write, type-erased so one channel carries every module's writes.
trait WriteJob: Send {
    /// The caller stopped waiting (timed out, hung up): the write must not happen.
    fn abandoned(&self) -> bool;
    /// Runs the write; false when it failed and its savepoint must be rolled back.
    fn run(&mut self, conn: &SharedConnection) -> bool;
    /// Answers the caller with the write's own result, or the group commit's failure.
    fn finish(self: Box<Self>, commit: Result<(), Error>);
}

struct Job<T, E, F> {
    /// The caller's request, whose id the write's log lines carry, and the write.
    work: Option<(RequestScope, F)>,
    outcome: Option<Result<T, E>>,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<T, E, F> WriteJob for Job<T, E, F>
where
    T: Send,
    E: From<Error> + Send,
    F: FnOnce(&SharedConnection) -> Result<T, E> + Send,
{
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }

    fn run(&mut self, conn: &SharedConnection) -> bool {
        let Some((scope, work)) = self.work.take() else { return false };
        let outcome = scope.run(|| work(conn));
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), Error>) {
        let answer = match (self.outcome, commit) {
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Ok(_)), Err(commit)) => Err(commit.into()),
            (None, Err(commit)) => Err(commit.into()),
            (None, Ok(())) => Err(Error::Other("the write panicked".into()).into()),
        };
        let _ = self.reply.send(answer);
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Message::Write(_) => "Write",
            Message::Close(_) => "Close",
        })
    }
}

fn run_writer(conn: &SharedConnection, mut queue: mpsc::Receiver<Message>) {
    while let Some(first) = queue.blocking_recv() {
        let mut group = Vec::new();
        let mut closing = None;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Write(job) => group.push(job),
                Message::Close(ack) => {
                    closing = Some(ack);
                    break;
                }
            }
            if group.len() < MAX_GROUP {
                next = queue.try_recv().ok();
            }
        }
        commit_group(conn, group);
        if let Some(ack) = closing {
            queue.close();
            let _ = ack.send(());
            return;
        }
    }
}

fn commit_group(shared: &SharedConnection, mut group: Vec<Box<dyn WriteJob>>) {
    group.retain(|job| !job.abandoned());
    if group.is_empty() {
        return;
    }
    // Held for the whole group: in memory, the readers share this connection and must not see
    // a group half-way.
    let conn = shared.lock();
    let commit = run_group(shared, &conn, &mut group);
    if commit.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for job in group {
        job.finish(commit.clone());
    }
}

fn run_group(shared: &SharedConnection, conn: &Connection, group: &mut [Box<dyn WriteJob>]) -> Result<(), Error> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    for job in group.iter_mut() {
        conn.prepare_cached("SAVEPOINT request")?.execute([])?;
        let ok = std::panic::catch_unwind(AssertUnwindSafe(|| job.run(shared))).unwrap_or(false);
        if !ok {
            conn.prepare_cached("ROLLBACK TO request")?.execute([])?;
        }
        conn.prepare_cached("RELEASE request")?.execute([])?;
    }
    conn.execute_batch("COMMIT")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Isolation, query};

    fn open_temp() -> (tempfile::TempDir, Arc<SqliteDb>) {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(&Location::File(dir.path().join("t.db"))).unwrap();
        (dir, Arc::new(db))
    }

    #[test]
    fn reads_locations_from_urls() {
        let loc = |s: &str| Location::from_url(&Url::parse(s).unwrap());
        assert_eq!(loc("sqlite://ferrum.db"), Location::File("ferrum.db".into()));
        assert_eq!(loc("sqlite:///var/lib/ferrum/x.db"), Location::File("/var/lib/ferrum/x.db".into()));
        assert_eq!(loc("sqlite:data/x.db"), Location::File("data/x.db".into()));
        assert_eq!(loc("sqlite::memory:"), Location::Memory);
        // Text a URL cannot hold as it is arrives percent-encoded and is decoded back.
        assert_eq!(loc("sqlite:///srv/my data/x.db"), Location::File("/srv/my data/x.db".into()));
        assert_eq!(loc("sqlite:///srv/caf%C3%A9%23%3F/x.db"), Location::File("/srv/café#?/x.db".into()));
        assert_eq!(loc("sqlite://data%20dir/x.db"), Location::File("data dir/x.db".into()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_leaves_nothing_and_does_not_spoil_its_group() {
        let (_dir, sqlite) = open_temp();
        let db = super::super::Db::Sqlite(sqlite);
        db.execute(query("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)")).await.unwrap();
        let mut tasks = Vec::new();
        for v in 0..200_i64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                db.transaction(Isolation::default(), move |tx| {
                    Box::pin(async move {
                        tx.execute(query("INSERT INTO t (v) VALUES ($1)").bind(v)).await?;
                        // Every third write inserts a second row and then fails: neither row stays.
                        if v % 3 == 0 {
                            tx.execute(query("INSERT INTO t (v) VALUES ($1)").bind(v + 1000)).await?;
                            tx.execute(query("INSERT INTO t (v) VALUES ($1)").bind(v)).await?;
                        }
                        Ok::<_, Error>(v)
                    })
                })
                .await
            }));
        }
        let mut failed = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => {}
                Err(Error::UniqueViolation) => failed += 1,
                Err(other) => panic!("unexpected {other}"),
            }
        }
        assert_eq!(failed, 67);
        let count: i64 = db.fetch_one(query("SELECT count(*) FROM t")).await.unwrap();
        assert_eq!(count, 133);
        let big: i64 = db.fetch_one(query("SELECT count(*) FROM t WHERE v >= 1000")).await.unwrap();
        assert_eq!(big, 0);
    }

    #[tokio::test]
    async fn memory_databases_share_one_connection() {
        let db = super::super::Db::Sqlite(Arc::new(SqliteDb::open(&Location::Memory).unwrap()));
        db.execute(query("CREATE TABLE t (v INTEGER)")).await.unwrap();
        db.execute(query("INSERT INTO t VALUES (7)")).await.unwrap();
        let v: i64 = db.scan(query("SELECT v FROM t")).await.unwrap()[0];
        assert_eq!(v, 7);
        db.close().await;
        let err = db.execute(query("INSERT INTO t VALUES (8)")).await.unwrap_err();
        assert!(err.is_unavailable(), "{err}");
    }

    /// Work done for a request on the writer thread and on the blocking pool runs in the
    /// request's scope, so the lines it logs carry the request id (SPEC 1.7; the JSON line
    /// format reads the id through `with_request_id`, tested in `telemetry::json`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_on_the_writer_and_the_blocking_pool_carries_the_request_id() {
        let (_dir, sqlite) = open_temp();
        let seen = || (std::thread::current().id(), crate::telemetry::with_request_id(|id| id.map(str::to_owned)));
        let here = std::thread::current().id();
        let request = crate::telemetry::in_request(axum::http::HeaderValue::from_static("r-42"), async {
            let written = sqlite.write(move |_| Ok::<_, Error>(seen())).await.unwrap();
            let read = sqlite.read_off_thread(move |_| Ok(seen())).await.unwrap();
            let db = super::super::Db::Sqlite(sqlite.clone());
            let in_transaction = db
                .transaction(Isolation::default(), move |_| Box::pin(async move { Ok::<_, Error>(seen()) }))
                .await
                .unwrap();
            [written, read, in_transaction]
        });
        for (thread, id) in request.await {
            assert_ne!(thread, here, "the work ran on another thread");
            assert_eq!(id.as_deref(), Some("r-42"));
        }
        // And outside a request, nothing is carried.
        assert_eq!(sqlite.write(move |_| Ok::<_, Error>(seen())).await.unwrap().1, None);
    }

    /// Every reader busy: the read waits for one off the async threads and still answers.
    #[tokio::test(flavor = "current_thread")]
    async fn a_read_waits_for_a_busy_reader_off_the_async_thread() {
        let (_dir, sqlite) = open_temp();
        let db = super::super::Db::Sqlite(sqlite.clone());
        // Held by another thread: the locks are re-entrant, so this thread could take them.
        let (locked, release) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
        let holder = std::thread::spawn({
            let sqlite = sqlite.clone();
            move || {
                let _held: Vec<_> = sqlite.readers.iter().map(|reader| reader.lock()).collect();
                locked.0.send(()).unwrap();
                let _ = release.1.recv();
            }
        });
        locked.1.recv().unwrap();
        let waiting = tokio::spawn({
            let db = db.clone();
            async move { db.fetch_one::<i64>(query("SELECT 41 + 1")).await }
        });
        // On this single async thread, the spawned read can only make progress if it did not
        // block the thread: poll until it has counted its wait.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while sqlite.stats().read_waits == 0 {
            assert!(tokio::time::Instant::now() < deadline, "the read never waited");
            tokio::task::yield_now().await;
        }
        release.0.send(()).unwrap();
        holder.join().unwrap();
        assert_eq!(waiting.await.unwrap().unwrap(), 42);
    }
}
