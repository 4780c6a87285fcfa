//! Logging: structured JSON in production, readable text in development, filtered by `MYCLOTHES_LOG`.
//! Lines go to standard error through a writer thread of their own, so that a request never waits
//! for the terminal or the log collector: when the writer falls behind by `BUFFERED_LINES`, further
//! lines are dropped and counted (`log_lines_dropped_total` on `/metrics`) rather than stall requests.
//! The writer takes the lines waiting in batches (`Batched`), so that a busy instance makes one
//! system call and one wake-up of the thread per batch rather than per line.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;
use std::time::Duration;

use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};

/// Lines waiting for the writer before new ones are dropped: a few seconds of a busy instance.
const BUFFERED_LINES: usize = 64 * 1024;

/// How long the writer waits after writing a batch before it takes the next: how much later than at
/// once a line may be written.
const BATCH_PAUSE: Duration = Duration::from_millis(5);

static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Installs the logger. Keep the guard for as long as the process logs: dropping it flushes what is
/// buffered.
pub fn init(settings: &Settings) -> WorkerGuard {
    let (writer, guard) = non_blocking(Batched::new(std::io::stderr(), BATCH_PAUSE));
    let _ = DROPPED.set(writer.error_counter());
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a terminal: in a file or a collector's pipe they are noise to strip.
    let colours = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(colours).with_writer(writer);
    match settings.log_format() {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
    guard
}

/// Lines dropped because the writer fell behind, since start-up.
pub fn dropped_lines() -> usize {
    DROPPED.get().map_or(0, ErrorCounter::dropped_lines)
}

/// A writer to `sink` that never blocks its callers: lines wait in a bounded queue for a thread that
/// writes them, and are dropped once the queue is full.
fn non_blocking<W: Write + Send + 'static>(sink: W) -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default().lossy(true).buffered_lines_limit(BUFFERED_LINES).finish(sink)
}

/// The writer thread's sink: what the thread hands it is gathered and written in one write once the
/// thread has taken every line waiting (its flush). The thread then pauses before it looks for more,
/// so that the lines logged meanwhile wait in the queue without waking it, and go in the next batch.
struct Batched<W: Write> {
    sink: W,
    batch: Vec<u8>,
    pause: Duration,
}

impl<W: Write> Batched<W> {
    /// Most of a batch held before it is written, whether or not more lines wait.
    const MOST: usize = 256 * 1024;

    fn new(sink: W, pause: Duration) -> Self {
        Self { sink, batch: Vec::with_capacity(Self::MOST), pause }
    }

    fn write_batch(&mut self) -> std::io::Result<()> {
        let written = self.sink.write_all(&self.batch);
        // A batch the sink refused is dropped, as a line is when the queue is full: the next one
        // must not carry it again.
        self.batch.clear();
        written
    }
}

impl<W: Write> Write for Batched<W> {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.batch.extend_from_slice(line);
        if self.batch.len() >= Self::MOST {
            self.write_batch()?;
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.write_batch()?;
        self.sink.flush()?;
        std::thread::sleep(self.pause);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    /// A sink as slow as a stalled terminal: a millisecond per write.
    struct Stalled;

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            std::thread::sleep(Duration::from_millis(1));
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A sink that keeps each write apart.
    #[derive(Clone, Default)]
    struct Recording(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Recording {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().push(buf.to_vec());
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_go_to_the_sink_in_one_write_per_batch_and_all_of_them_at_a_flush() {
        let sink = Recording::default();
        let mut batched = super::Batched::new(sink.clone(), Duration::ZERO);
        for line in ["a\n", "b\n", "c\n"] {
            batched.write_all(line.as_bytes()).unwrap();
        }
        assert!(sink.0.lock().unwrap().is_empty(), "nothing is written before the batch ends");

        batched.flush().unwrap();
        batched.write_all(b"d\n").unwrap();
        batched.flush().unwrap();

        assert_eq!(*sink.0.lock().unwrap(), [b"a\nb\nc\n".to_vec(), b"d\n".to_vec()]);
    }

    #[test]
    fn lines_logged_while_the_writer_pauses_wait_for_its_next_batch() {
        let sink = Recording::default();
        let (mut writer, guard) =
            super::non_blocking(super::Batched::new(sink.clone(), Duration::from_millis(200)));
        writer.write_all(b"first\n").unwrap();
        for _ in 0..1_000 {
            if !sink.0.lock().unwrap().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        for line in 0..50 {
            writer.write_all(format!("line {line}\n").as_bytes()).unwrap();
        }
        drop(guard);

        let writes = sink.0.lock().unwrap();
        assert_eq!(writes.len(), 2, "the first line alone, then the fifty in one write");
        assert_eq!(writes[1], (0..50).map(|line| format!("line {line}\n")).collect::<String>().into_bytes());
    }

    #[test]
    fn a_stalled_sink_does_not_block_the_code_that_logs() {
        let (mut writer, _guard) = super::non_blocking(Stalled);
        let started = Instant::now();
        for line in 0..2_000 {
            writer.write_all(format!("line {line}\n").as_bytes()).unwrap();
        }
        assert!(started.elapsed() < Duration::from_millis(500), "2,000 lines took {:?}", started.elapsed());
    }
}
