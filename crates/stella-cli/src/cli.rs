//! Argument definitions for every `stella` command (kept apart from the command logic).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Stella Ops: SBOM-first container vulnerability scanning.
#[derive(Debug, Parser)]
#[command(name = "stella", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compare versions with an ecosystem's own rules.
    #[command(subcommand)]
    Version(VersionCommand),
}

/// `stella version …`
#[derive(Debug, Subcommand)]
pub enum VersionCommand {
    /// Print `<`, `=` or `>` for A compared with B, or check a vector file with `--check`.
    Compare(CompareArgs),
}

/// `stella version compare`
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// OSV ecosystem name (`Debian`, `Alpine`, `Red Hat`, `PyPI`, `Maven`, `npm`, `Go`,
    /// `crates.io`, `RubyGems`, `NuGet`, `Packagist`, `Pub`, `Hackage`, `CRAN`) or `semver`.
    #[arg(long, short = 'e')]
    pub ecosystem: String,
    /// A file of `A < B` / `A = B` / `A > B` lines to check instead of comparing two versions.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["a", "b"])]
    pub check: Option<PathBuf>,
    /// First version.
    #[arg(required_unless_present = "check")]
    pub a: Option<String>,
    /// Second version.
    #[arg(required_unless_present = "check")]
    pub b: Option<String>,
}
