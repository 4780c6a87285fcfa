// jemalloc, not glibc's allocator: measured on this server, it serves about a tenth more cart writes
// and its memory stays flat over a long run (BENCHMARKS.md, "The allocator, measured again").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options (read by the allocator at its start, under the crate's symbol prefix): a
/// background thread returns freed pages to the system as they age (10 s), so that a server at rest
/// after a burst holds what it uses, not the burst's high-water mark.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8; 23] = b"background_thread:true\0";

fn main() -> std::process::ExitCode {
    api::cli::run()
}
