//! The `stella` binary: parses arguments, runs a command, maps errors to exit codes.

// The binary is where output reaches people.
#![allow(clippy::print_stdout, clippy::print_stderr)]

/// `println!` that returns an error instead of panicking when stdout is gone
/// (`stella db info | head`).
macro_rules! outln {
    () => {
        outln!("")
    };
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($t)*)?;
    }};
}

mod attest_cmd;
mod cli;
mod db_cmd;
mod jobs_cmd;
mod ouk_cmd;
mod policy_cmd;
mod policy_remote;
mod progress;
mod remote_cmd;
mod sbom_cmd;
mod scan_cmd;
mod serve_cmd;
mod token_cmd;
mod version_cmd;

use std::process::ExitCode;

// A scan allocates tens of thousands of small strings for its findings; mimalloc serves them
// faster than glibc's malloc and returns fewer fresh pages to fault in.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

/// Exit codes shared by every command (DESIGN.md §4).
pub mod exit {
    /// Pass, or warn.
    pub const OK: u8 = 0;
    /// A failed verdict or check.
    pub const FAIL: u8 = 1;
    /// Bad usage or input.
    pub const USAGE: u8 = 2;
    /// Refused credentials or token.
    pub const AUTH: u8 = 3;
    /// Not found.
    pub const NOT_FOUND: u8 = 4;
    /// Worth retrying later (a server or feed was down).
    pub const RETRYABLE: u8 = 10;
}

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match run(args) {
        Ok(code) => ExitCode::from(code),
        // The reader went away (`| head`): nothing left to say to anyone.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::from(exit::OK)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::USAGE)
        }
    }
}

fn run(args: cli::Cli) -> anyhow::Result<u8> {
    match args.command {
        cli::Command::Version(v) => version_cmd::run(v),
        cli::Command::Sbom(s) => sbom_cmd::run(*s),
        cli::Command::Db(d) => db_cmd::run(d),
        cli::Command::Scan(s) => scan_cmd::run(*s),
        cli::Command::Policy(p) => policy_cmd::run(p),
        cli::Command::Serve(a) => serve_cmd::run(*a, false),
        cli::Command::Worker(a) => serve_cmd::run(*a, true),
        cli::Command::Token(t) => token_cmd::run(t),
        cli::Command::Jobs(j) => jobs_cmd::run(j),
        cli::Command::Attest(c) => attest_cmd::run(c),
        cli::Command::Ouk(c) => ouk_cmd::run(c),
        cli::Command::RegoSandbox => {
            Ok(u8::try_from(stella_policy::rego::serve_sandbox()).unwrap_or(2))
        }
    }
}
