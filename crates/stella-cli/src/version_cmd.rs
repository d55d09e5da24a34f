//! `stella version compare`: one comparison, or a whole vector file.

use std::cmp::Ordering;

use anyhow::{Context, bail};
use stella_version::{Scheme, parse_vectors};

use crate::cli::{CompareArgs, VersionCommand};
use crate::exit;

fn symbol(o: Ordering) -> &'static str {
    match o {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

fn scheme(eco: &str) -> anyhow::Result<Scheme> {
    match Scheme::for_ecosystem(eco) {
        Some(s) => Ok(s),
        None => bail!(
            "unknown ecosystem `{eco}`\nhint: use an OSV ecosystem name: Debian, Ubuntu, Alpine, \
             Red Hat, AlmaLinux, PyPI, Maven, npm, Go, crates.io, RubyGems, NuGet, Packagist, Pub, \
             Hackage, CRAN, or semver"
        ),
    }
}

/// Runs a `stella version` subcommand.
pub fn run(cmd: VersionCommand) -> anyhow::Result<u8> {
    match cmd {
        VersionCommand::Compare(args) => compare(args),
    }
}

fn compare(args: CompareArgs) -> anyhow::Result<u8> {
    let scheme = scheme(&args.ecosystem)?;
    if let Some(path) = args.check {
        let text = fs_err::read_to_string(&path)?;
        let cases = parse_vectors(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let (mut passed, mut failed) = (0usize, 0usize);
        for c in cases {
            let fwd = scheme.compare(&c.a, &c.b);
            let back = scheme.compare(&c.b, &c.a);
            match (&fwd, &back) {
                (Ok(f), Ok(b)) if *f == c.expected && *b == c.expected.reverse() => passed += 1,
                _ => {
                    failed += 1;
                    let got = match fwd {
                        Ok(o) => symbol(o).to_string(),
                        Err(e) => format!("error: {e}"),
                    };
                    outln!(
                        "FAIL {}:{}: {} {} {} (got {got})",
                        path.display(),
                        c.line,
                        c.a,
                        symbol(c.expected),
                        c.b
                    );
                }
            }
        }
        outln!("{passed} passed, {failed} failed");
        return Ok(if failed == 0 { exit::OK } else { exit::FAIL });
    }
    let (Some(a), Some(b)) = (args.a, args.b) else {
        bail!("give two versions, or `--check FILE`");
    };
    let o = scheme
        .compare(&a, &b)
        .with_context(|| format!("cannot compare `{a}` with `{b}`"))?;
    outln!("{}", symbol(o));
    Ok(exit::OK)
}
