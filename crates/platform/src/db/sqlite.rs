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

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};
use url::Url;

use super::Error;

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
    readers: Box<[Arc<Mutex<Connection>>]>,
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
        let writer_conn = Arc::new(Mutex::new(writer_conn));

        let readers: Vec<Arc<Mutex<Connection>>> = match location {
            Location::File(path) => {
                let count = std::thread::available_parallelism().map_or(4, |n| n.get() * 2).max(4);
                (0..count)
                    .map(|_| {
                        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                        let conn = Connection::open_with_flags(path, flags)?;
                        configure(&conn)?;
                        Ok(Arc::new(Mutex::new(conn)))
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

    /// Runs a short read inline on the calling thread: for point reads and small pages that
    /// take microseconds, where a thread hop would cost more than the query.
    pub fn read_now<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, Error> {
        let count = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed) % count;
        for offset in 0..count {
            if let Some(conn) = self.readers[(start + offset) % count].try_lock() {
                return read(&conn).map_err(Error::from);
            }
        }
        self.read_waits.fetch_add(1, Ordering::Relaxed);
        let conn = self.readers[start].lock();
        read(&conn).map_err(Error::from)
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

    /// Runs a read that may scan on the blocking pool, keeping the async threads free.
    pub async fn read<T, F>(self: &Arc<Self>, read: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let db = Arc::clone(self);
        tokio::task::spawn_blocking(move || db.read_now(read))
            .await
            .map_err(|e| Error::Other(format!("read task failed: {e}").into()))?
    }

    /// Runs `write` in its own savepoint inside the writer's next group commit and answers
    /// once that commit is on disk. An `Err` from `write` rolls back its savepoint only.
    pub async fn write<T, F>(&self, write: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Job { work: Some(write), outcome: None, reply });
        self.writer.send(Message::Write(job)).await.map_err(|_| Error::Unavailable("the database is closed".into()))?;
        answer.await.map_err(|_| Error::Other("the write was dropped by the writer".into()))?
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
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller with the write's own result, or the group commit's failure.
    fn finish(self: Box<Self>, commit: Result<(), Error>);
}

struct Job<T, F> {
    work: Option<F>,
    outcome: Option<Result<T, Error>>,
    reply: oneshot::Sender<Result<T, Error>>,
}

impl<T, F> WriteJob for Job<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, Error> + Send,
{
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }

    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else { return false };
        let outcome = work(conn);
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), Error>) {
        let answer = match (self.outcome, commit) {
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Ok(_)), Err(commit)) => Err(commit),
            (None, Err(commit)) => Err(commit),
            (None, Ok(())) => Err(Error::Other("the write panicked".into())),
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

fn run_writer(conn: &Mutex<Connection>, mut queue: mpsc::Receiver<Message>) {
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
        commit_group(&conn.lock(), group);
        if let Some(ack) = closing {
            queue.close();
            let _ = ack.send(());
            return;
        }
    }
}

fn commit_group(conn: &Connection, mut group: Vec<Box<dyn WriteJob>>) {
    group.retain(|job| !job.abandoned());
    if group.is_empty() {
        return;
    }
    let commit = run_group(conn, &mut group);
    if commit.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for job in group {
        job.finish(commit.clone());
    }
}

fn run_group(conn: &Connection, group: &mut [Box<dyn WriteJob>]) -> Result<(), Error> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    for job in group.iter_mut() {
        conn.prepare_cached("SAVEPOINT request")?.execute([])?;
        let ok = std::panic::catch_unwind(AssertUnwindSafe(|| job.run(conn))).unwrap_or(false);
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
        let (_dir, db) = open_temp();
        db.write(|c| Ok(c.execute_batch("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)")?)).await.unwrap();
        let mut tasks = Vec::new();
        for v in 0..200_i64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                db.write(move |c| {
                    c.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
                    // Every third write inserts a second row and then fails: neither row stays.
                    if v % 3 == 0 {
                        c.execute("INSERT INTO t (v) VALUES (?1)", [v + 1000])?;
                        c.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
                    }
                    Ok(v)
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
        let count: i64 = db.read_now(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))).unwrap();
        assert_eq!(count, 133);
        let big: i64 =
            db.read_now(|c| c.query_row("SELECT count(*) FROM t WHERE v >= 1000", [], |r| r.get(0))).unwrap();
        assert_eq!(big, 0);
    }

    #[tokio::test]
    async fn memory_databases_share_one_connection() {
        let db = Arc::new(SqliteDb::open(&Location::Memory).unwrap());
        db.write(|c| Ok(c.execute_batch("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (7)")?)).await.unwrap();
        let v: i64 = db.read(|c| c.query_row("SELECT v FROM t", [], |r| r.get(0))).await.unwrap();
        assert_eq!(v, 7);
        db.close().await;
        let err = db.write(|_| Ok(())).await.unwrap_err();
        assert!(err.is_unavailable());
    }
}
