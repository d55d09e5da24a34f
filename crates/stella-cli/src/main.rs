//! The `stella` binary: parses arguments, runs a command, maps errors to exit codes.

// The binary is where output reaches people.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cli;
mod db_cmd;
mod sbom_cmd;
mod version_cmd;

use std::process::ExitCode;

use clap::Parser;

/// Exit codes shared by every command (DESIGN.md §4).
pub mod exit {
    /// Pass, or warn.
    pub const OK: u8 = 0;
    /// A failed verdict or check.
    pub const FAIL: u8 = 1;
    /// Bad usage or input.
    pub const USAGE: u8 = 2;
    /// Worth retrying later (a server or feed was down).
    pub const RETRYABLE: u8 = 10;
}

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match run(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::USAGE)
        }
    }
}

fn run(args: cli::Cli) -> anyhow::Result<u8> {
    match args.command {
        cli::Command::Version(v) => version_cmd::run(v),
        cli::Command::Sbom(s) => sbom_cmd::run(s),
        cli::Command::Db(d) => db_cmd::run(d),
    }
}
