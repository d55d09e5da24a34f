//! `stella sbom convert`: read any SBOM we understand, write the requested format.

use std::io::{Read as _, Write as _};

use std::path::Path;

use anyhow::{Context, bail};
use stella_sbom::{Format, OutputFormat, WriteOptions};

use crate::cli::{BuildArgs, ConvertArgs, SbomArgs, SbomCommand};
use crate::exit;

/// Runs `stella sbom`.
pub fn run(args: SbomArgs) -> anyhow::Result<u8> {
    match args.command {
        Some(SbomCommand::Convert(a)) => convert(a),
        None => build(args.build),
    }
}

fn emit(output: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match output {
        None => {
            let mut so = std::io::stdout().lock();
            so.write_all(bytes)
                .context("cannot write to standard output")?;
            so.flush().ok();
            Ok(())
        }
        Some(path) => write_atomically(path, bytes),
    }
}

fn build(args: BuildArgs) -> anyhow::Result<u8> {
    let target_s = args.target.clone().unwrap_or_default();
    let stella_json = args.format == "stella-json";
    let out_format = if stella_json || args.per_layer {
        None
    } else {
        Some(OutputFormat::parse(&args.format).with_context(|| {
            format!(
                "unknown output format `{}`\nhint: use cyclonedx-json, cyclonedx-xml, spdx-json, spdx-tag-value or stella-json",
                args.format
            )
        })?)
    };
    let target = stella_image::Target::parse(&target_s)?;
    let image = match &target {
        stella_image::Target::Registry(r) => stella_registry::open(
            r,
            &stella_registry::Options {
                insecure: args.insecure,
                username: args.username.clone(),
                password: args.password.clone(),
                platform: args.platform.clone(),
            },
        )
        .with_context(|| format!("cannot pull {r}"))?,
        t => stella_image::Image::open(t, args.platform.as_deref())
            .with_context(|| format!("cannot open {target_s}"))?,
    };
    let cache = if args.no_cache {
        None
    } else {
        args.cache
            .clone()
            .or_else(stella_catalog::cache::Cache::default_dir)
            .map(stella_catalog::cache::Cache::new)
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let cat = stella_catalog::catalog(&image, cache.as_ref(), threads)
        .with_context(|| format!("cannot catalog {target_s}"))?;
    for w in &cat.composed.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!(
        "{}: {} layers ({} cached), {} packages{}",
        image.name,
        image.layers.len(),
        cat.cached,
        cat.composed.packages.len(),
        cat.composed
            .os
            .as_ref()
            .map(|o| format!(", {} {}", o.id, o.version_id.as_deref().unwrap_or("")))
            .unwrap_or_default()
    );
    if args.per_layer {
        let layers: Vec<serde_json::Value> = cat
            .fragments
            .iter()
            .zip(&image.layers)
            .enumerate()
            .map(|(i, (f, l))| {
                serde_json::json!({
                    "index": i + 1,
                    "diffId": f.diff_id,
                    "digest": l.digest,
                    "fragment": f,
                })
            })
            .collect();
        let doc = serde_json::json!({ "target": image.name, "layers": layers });
        let mut bytes = serde_json::to_vec_pretty(&doc)?;
        bytes.push(b'\n');
        emit(args.output.as_deref(), &bytes)?;
        return Ok(exit::OK);
    }
    if stella_json {
        let doc = serde_json::json!({
            "target": image.name,
            "digest": image.digest,
            "os": cat.composed.os,
            "layers": image.layers.iter().map(|l| &l.diff_id).collect::<Vec<_>>(),
            "packages": cat.composed.packages,
        });
        let mut bytes = serde_json::to_vec_pretty(&doc)?;
        bytes.push(b'\n');
        emit(args.output.as_deref(), &bytes)?;
        return Ok(exit::OK);
    }
    let sbom = stella_catalog::sbom::to_sbom(&cat.composed, &image.name, env!("CARGO_PKG_VERSION"));
    let opts = WriteOptions {
        timestamp: args.timestamp.clone().or_else(source_date_epoch),
        serial: None,
        tool_version: None,
    };
    let Some(fmt) = out_format else {
        return Ok(exit::OK);
    };
    emit(
        args.output.as_deref(),
        &stella_sbom::write(&sbom, fmt, &opts),
    )?;
    Ok(exit::OK)
}

/// Reads a file or standard input, refusing more than `max` bytes without reading them all.
pub fn read_input(path: &Path, max: u64) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .take(max + 1)
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
    } else {
        let f = fs_err::File::open(path)?;
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        if size > max {
            bail!(
                "{} is {size} bytes, over the {max}-byte limit\nhint: raise it with `--max-size` or `STELLA_MAX_SBOM_BYTES`",
                path.display()
            );
        }
        // Sized up front: growing by doubling would briefly hold twice the document.
        buf.reserve_exact(usize::try_from(size).unwrap_or(0).saturating_add(1));
        f.take(max + 1)
            .read_to_end(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    if buf.len() as u64 > max {
        bail!(
            "the input is over the {max}-byte limit\nhint: raise it with `--max-size` or `STELLA_MAX_SBOM_BYTES`"
        );
    }
    Ok(buf)
}

fn source_date_epoch() -> Option<String> {
    let secs: i64 = std::env::var("SOURCE_DATE_EPOCH")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(stella_sbom::rfc3339(secs))
}

fn convert(args: ConvertArgs) -> anyhow::Result<u8> {
    let Some(out_format) = OutputFormat::parse(&args.format) else {
        bail!(
            "unknown output format `{}`\nhint: use cyclonedx-json, cyclonedx-json@1.5, cyclonedx-json@1.4, \
             cyclonedx-xml, spdx-json or spdx-tag-value",
            args.format
        );
    };
    let hint = match &args.input_format {
        Some(h) => Some(Format::from_hint(h).with_context(|| {
            format!(
                "unknown input format `{h}`\nhint: use cyclonedx-json, cyclonedx-xml, spdx-json, spdx-tag-value, \
                 spdx3-json, syft-json or trivy-json-v2"
            )
        })?),
        None => None,
    };
    let bytes = read_input(&args.input, args.max_size)?;
    let r = stella_sbom::read(&bytes, hint)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    for w in &r.warnings {
        eprintln!("warning: {}: {}: {}", args.input.display(), w.at, w.message);
    }
    let mut opts = WriteOptions {
        timestamp: args.timestamp,
        serial: args.serial,
        tool_version: None,
    };
    if opts.timestamp.is_none() && r.sbom.metadata.timestamp.is_none() {
        opts.timestamp = source_date_epoch();
    }
    let out = stella_sbom::write(&r.sbom, out_format, &opts);
    match &args.output {
        None => {
            let mut so = std::io::stdout().lock();
            so.write_all(&out)
                .context("cannot write to standard output")?;
            so.flush().ok();
        }
        Some(path) => write_atomically(path, &out)?,
    }
    Ok(exit::OK)
}

/// Writes to a temporary file beside `path`, then renames it over `path`: readers never see
/// a half-written file.
pub fn write_atomically(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    fs_err::write(&tmp, data)?;
    if let Err(e) = fs_err::rename(&tmp, path) {
        let _ = fs_err::remove_file(&tmp);
        return Err(e.into());
    }
    Ok(())
}
