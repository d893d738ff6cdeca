//! Shell integration: `tidings completions SHELL` prints a completion script (clap_complete) and
//! `tidings man` prints the man page (clap_mangen), both generated from the clap definitions, so
//! they can never disagree with the commands they describe.

use super::Cli;
use clap::CommandFactory;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ShellArg {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: ShellArg,
}

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    let shell = match args.shell {
        ShellArg::Bash => clap_complete::Shell::Bash,
        ShellArg::Zsh => clap_complete::Shell::Zsh,
        ShellArg::Fish => clap_complete::Shell::Fish,
    };
    let mut cmd = Cli::command();
    // clap_complete panics when its writer fails: it writes into memory, we write the pipe
    // (so `tidings completions bash | head` ends quietly).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "tidings", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(ExitCode::SUCCESS)
}

/// The man page of `tidings`, in roff, on stdout.
pub fn man() -> anyhow::Result<ExitCode> {
    let page = clap_mangen::Man::new(Cli::command());
    page.render(&mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}
