use clap::Parser;

fn main() -> std::process::ExitCode {
    tidings::cli::run(tidings::cli::Cli::parse())
}
