//! Logging: structured JSON in production, readable text in development, filtered by `MYCLOTHES_LOG`.
//! Lines go to standard error through a writer thread of their own, so that a request never waits
//! for the terminal or the log collector: when the writer falls behind by `BUFFERED_LINES`, further
//! lines are dropped and counted (`log_lines_dropped_total` on `/metrics`) rather than stall requests.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};

/// Lines waiting for the writer before new ones are dropped: a few seconds of a busy instance.
const BUFFERED_LINES: usize = 64 * 1024;

static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Installs the logger. Keep the guard for as long as the process logs: dropping it flushes what is
/// buffered.
pub fn init(settings: &Settings) -> WorkerGuard {
    let (writer, guard) = non_blocking(std::io::stderr());
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

#[cfg(test)]
mod tests {
    use std::io::Write;
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
