// jemalloc, not glibc's allocator: measured on this server, it serves about a tenth more cart writes
// and its memory stays flat over a long run (BENCHMARKS.md, "The allocator, measured again").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    api::cli::run()
}
