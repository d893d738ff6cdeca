use clap::Parser;

// The tracker answers every pixel with a handful of small allocations (request, headers, the
// event row); mimalloc serves those faster than glibc's malloc under many connections
// (benches/tracker.sh, docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tidings::cli::run(tidings::cli::Cli::parse())
}
