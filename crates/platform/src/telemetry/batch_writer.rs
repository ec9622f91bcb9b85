//! Log lines are formatted on the thread that logs them and appended to a buffer; one
//! background thread writes the buffers out every [`FLUSH_EVERY`], or sooner once one holds
//! [`FLUSH_AT`] bytes.
//!
//! Written here rather than taken from tracing-appender: its writer hands each line to the
//! background thread through a channel and writes and flushes as soon as the channel is empty,
//! which under load is one thread wake-up and one `write(2)` per request. That cost a quarter
//! of `/health/live`'s throughput with access logs on (BENCHMARKS.md).
//!
//! The buffer is split in [`SHARDS`] shards, each on cache lines of its own, and a thread always
//! appends to the same one: with one shared buffer, the lock and the buffer's end moved between
//! the cores on every line, which made the access line cost twice as much per instruction as
//! the rest of a request. A thread's lines stay in their order; within one batch (at most
//! [`FLUSH_EVERY`]), lines of different threads come grouped by shard, each with its timestamp.
//!
//! Nothing is dropped: a shard that reaches [`BACKLOG_LIMIT`] / [`SHARDS`] (the output cannot
//! keep up) makes its loggers wait for the writer. What is buffered when the process is killed
//! outright (at most [`FLUSH_EVERY`] of lines) is lost; [`FlushGuard`] writes everything out on
//! a normal exit.

use std::{
    io::{self, Write},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use parking_lot::{Condvar, Mutex};
use tracing_subscriber::fmt::MakeWriter;

/// The longest a line waits before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(20);
/// A shard this full is written at once.
const FLUSH_AT: usize = 64 * 1024;
/// The buffered bytes, all shards together, past which loggers wait.
const BACKLOG_LIMIT: usize = 4 * 1024 * 1024;
/// Buffers: more than the threads that log at once under load (the runtime's workers).
const SHARDS: usize = 8;

/// One shard, alone on its cache lines (128 bytes: two lines, as adjacent-line prefetch pairs
/// them).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard {
    buffer: Mutex<Vec<u8>>,
}

#[derive(Debug, Default)]
struct Shared {
    shards: [Shard; SHARDS],
    /// Whether the writer is to stop once everything is written.
    closed: Mutex<bool>,
    /// The writer thread waits on this for a full shard or for the end.
    wake_writer: Condvar,
    /// Loggers wait on this while their shard is over its share of the backlog.
    drained: Condvar,
}

/// The [`MakeWriter`] given to the log subscriber; cheap to clone.
#[derive(Clone, Debug)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Writes out what is buffered and stops the writer thread when dropped.
#[derive(Debug)]
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl BatchWriter {
    /// A writer batching into `out` from a thread named `log-writer`.
    pub fn new(out: impl Write + Send + 'static) -> io::Result<(Self, FlushGuard)> {
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new().name("log-writer".into()).spawn({
            let shared = shared.clone();
            move || write_batches(&shared, out)
        })?;
        Ok((Self { shared: shared.clone() }, FlushGuard { shared, thread: Some(thread) }))
    }
}

fn write_batches(shared: &Shared, mut out: impl Write) {
    // Swapping with these keeps every buffer's capacity: no allocation in the steady state.
    let mut batches: Vec<Vec<u8>> = (0..SHARDS).map(|_| Vec::with_capacity(FLUSH_AT)).collect();
    loop {
        let closed = {
            let mut closed = shared.closed.lock();
            if !*closed && shared.shards.iter().all(|shard| shard.buffer.lock().len() < FLUSH_AT) {
                shared.wake_writer.wait_for(&mut closed, FLUSH_EVERY);
            }
            *closed
        };
        for (shard, batch) in shared.shards.iter().zip(&mut batches) {
            std::mem::swap(batch, &mut *shard.buffer.lock());
        }
        {
            // Under the lock the loggers wait with, so that none misses this wake-up.
            let _closed = shared.closed.lock();
            shared.drained.notify_all();
        }
        for batch in batches.iter_mut().filter(|batch| !batch.is_empty()) {
            // Nowhere to report a failed log write: the lines are dropped, the server goes on.
            let _ = out.write_all(batch);
            batch.clear();
        }
        let _ = out.flush();
        if closed && shared.shards.iter().all(|shard| shard.buffer.lock().is_empty()) {
            return;
        }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        *self.shared.closed.lock() = true;
        self.shared.wake_writer.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The shard this thread appends to: threads are dealt shards in turn, once.
fn shard_of_this_thread() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    SHARD.with(|shard| *shard)
}

/// One line's writer: the subscriber writes each formatted line with one `write_all`.
#[derive(Debug)]
pub struct LineWriter<'a> {
    shared: &'a Shared,
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> LineWriter<'a> {
        LineWriter { shared: &self.shared }
    }
}

impl Write for LineWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let shard = &self.shared.shards[shard_of_this_thread()];
        let mut buffer = shard.buffer.lock();
        if buffer.len() >= BACKLOG_LIMIT / SHARDS {
            // The output cannot keep up: wait for the writer (rare, so the slow way).
            drop(buffer);
            let mut closed = self.shared.closed.lock();
            while shard.buffer.lock().len() >= BACKLOG_LIMIT / SHARDS && !*closed {
                self.shared.wake_writer.notify_one();
                self.shared.drained.wait(&mut closed);
            }
            drop(closed);
            buffer = shard.buffer.lock();
        }
        buffer.extend_from_slice(bytes);
        if buffer.len() >= FLUSH_AT {
            self.shared.wake_writer.notify_one();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// Collects what the writer thread writes, and how many writes it took.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let mut sink = self.0.lock();
            sink.0.extend_from_slice(bytes);
            sink.1 += 1;
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_arrives_whole_and_in_few_writes() {
        let sink = Sink::default();
        let (writer, guard) = BatchWriter::new(sink.clone()).unwrap();
        std::thread::scope(|scope| {
            for t in 0..4 {
                let writer = writer.clone();
                scope.spawn(move || {
                    for i in 0..2_000 {
                        writer.make_writer().write_all(format!("thread {t} line {i}\n").as_bytes()).unwrap();
                    }
                });
            }
        });
        drop(guard);
        let (bytes, writes) = sink.0.lock().clone();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.lines().count(), 8_000);
        for t in 0..4 {
            let own: Vec<_> = text.lines().filter(|l| l.starts_with(&format!("thread {t} "))).collect();
            assert_eq!(own.len(), 2_000);
            assert!(own.iter().enumerate().all(|(i, l)| *l == format!("thread {t} line {i}")), "order kept");
        }
        assert!(writes < 1_000, "{writes} writes for 8,000 lines");
    }

    #[test]
    fn a_quiet_line_is_written_within_the_flush_period() {
        let sink = Sink::default();
        let (writer, _guard) = BatchWriter::new(sink.clone()).unwrap();
        writer.make_writer().write_all(b"one line\n").unwrap();
        let started = Instant::now();
        while sink.0.lock().0.is_empty() {
            assert!(started.elapsed() < Duration::from_secs(5), "never written");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(sink.0.lock().0, b"one line\n");
    }

    /// An output that takes its time, so the backlog fills.
    struct Slow(Sink);

    impl Write for Slow {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            std::thread::sleep(Duration::from_millis(50));
            self.0.write(bytes)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_slow_output_slows_loggers_and_loses_nothing() {
        let sink = Sink::default();
        let (writer, guard) = BatchWriter::new(Slow(sink.clone())).unwrap();
        let line = vec![b'x'; 1023];
        for _ in 0..12_000 {
            let mut out = writer.make_writer();
            out.write_all(&line).unwrap();
            out.write_all(b"\n").unwrap();
            let buffered: usize = writer.shared.shards.iter().map(|shard| shard.buffer.lock().len()).sum();
            assert!(buffered <= BACKLOG_LIMIT + 1024, "{buffered} bytes buffered");
        }
        drop(guard);
        assert_eq!(sink.0.lock().0.len(), 12_000 * 1024);
    }
}
