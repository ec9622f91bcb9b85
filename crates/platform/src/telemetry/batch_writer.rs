//! Log lines are formatted on the thread that logs them and appended to a shared buffer; one
//! background thread writes the buffer out every [`FLUSH_EVERY`], or sooner once it holds
//! [`FLUSH_AT`] bytes.
//!
//! Written here rather than taken from tracing-appender: its writer hands each line to the
//! background thread through a channel and writes and flushes as soon as the channel is empty,
//! which under load is one thread wake-up and one `write(2)` per request. That cost a quarter
//! of `/health/live`'s throughput with access logs on (BENCHMARKS.md).
//!
//! Nothing is dropped: when the buffer reaches [`BACKLOG_LIMIT`] (the output cannot keep up),
//! loggers wait for the writer. What is buffered when the process is killed outright (at most
//! [`FLUSH_EVERY`] of lines) is lost; [`FlushGuard`] writes everything out on a normal exit.

use std::{
    io::{self, Write},
    sync::Arc,
    thread::JoinHandle,
    time::Duration,
};

use parking_lot::{Condvar, Mutex};
use tracing_subscriber::fmt::MakeWriter;

/// The longest a line waits before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(20);
/// A buffer this full is written at once.
const FLUSH_AT: usize = 64 * 1024;
/// A buffer this full makes loggers wait.
const BACKLOG_LIMIT: usize = 4 * 1024 * 1024;

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    /// The writer thread waits on this for a full buffer or for the end.
    wake_writer: Condvar,
    /// Loggers wait on this while the backlog is over its limit.
    drained: Condvar,
}

#[derive(Debug, Default)]
struct State {
    buffer: Vec<u8>,
    closed: bool,
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
    let mut batch = Vec::with_capacity(FLUSH_AT);
    loop {
        let closed = {
            let mut state = shared.state.lock();
            if state.buffer.len() < FLUSH_AT && !state.closed {
                shared.wake_writer.wait_for(&mut state, FLUSH_EVERY);
            }
            // Swapping keeps both buffers' capacity: no allocation in the steady state.
            std::mem::swap(&mut batch, &mut state.buffer);
            state.closed
        };
        shared.drained.notify_all();
        if !batch.is_empty() {
            // Nowhere to report a failed log write: the line is dropped, the server goes on.
            let _ = out.write_all(&batch).and_then(|()| out.flush());
            batch.clear();
        }
        if closed && shared.state.lock().buffer.is_empty() {
            return;
        }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.state.lock().closed = true;
        self.shared.wake_writer.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
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
        let mut state = self.shared.state.lock();
        while state.buffer.len() >= BACKLOG_LIMIT && !state.closed {
            self.shared.wake_writer.notify_one();
            self.shared.drained.wait(&mut state);
        }
        state.buffer.extend_from_slice(bytes);
        if state.buffer.len() >= FLUSH_AT {
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
            assert!(writer.shared.state.lock().buffer.len() <= BACKLOG_LIMIT + 1024);
        }
        drop(guard);
        assert_eq!(sink.0.lock().0.len(), 12_000 * 1024);
    }
}
