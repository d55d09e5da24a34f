//! `stella sbom registry:REF` against a real registry: Debian's `docker-registry` on
//! 127.0.0.1 with htpasswd (basic) auth, images pushed with `skopeo`, including a
//! multi-platform index.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

struct Registry(Child);
impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

use common::have;

fn images() -> Option<PathBuf> {
    let dir = std::env::var("STELLA_SHARED_DATA").unwrap_or_else(|_| "../../../shared/data".into());
    let p = Path::new(&dir).join("images");
    p.is_dir().then_some(p)
}

fn start(dir: &Path) -> Option<(Registry, u16)> {
    if !have("docker-registry", "--version")
        || !have("skopeo", "--version")
        || !have("htpasswd", "-h")
    {
        eprintln!(
            "SKIP: docker-registry, skopeo and htpasswd are needed (apt-get install docker-registry skopeo apache2-utils)"
        );
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new("htpasswd")
        .args(["-Bbn", "stella", "s3cret"])
        .output()
        .unwrap();
    std::fs::write(dir.join("htpasswd"), out.stdout).unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(
        dir.join("config.yml"),
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\nauth:\n  htpasswd:\n    realm: basic-realm\n    path: {}\n",
            dir.join("data").display(),
            dir.join("htpasswd").display()
        ),
    )
    .unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reg = Registry(child);
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "docker-registry did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((reg, port))
}

fn push(src: &str, port: u16, dest: &str, all: bool) {
    let mut c = Command::new("skopeo");
    c.args([
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        "stella:s3cret",
    ]);
    if all {
        c.arg("--all");
    }
    let out = c
        .arg(src)
        .arg(format!("docker://127.0.0.1:{port}/{dest}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn stella(args: &[&str]) -> (i32, String, String) {
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stella"))
        .args(args)
        .env("STELLA_CACHE", cache.path())
        .env_remove("STELLA_REGISTRY_USERNAME")
        .env_remove("STELLA_REGISTRY_PASSWORD")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn pulls_from_a_real_registry_with_basic_auth_and_platforms() {
    let Some(imgs) = images() else {
        eprintln!("SKIP: shared images are absent");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some((_reg, port)) = start(dir.path()) else {
        return;
    };
    let layout = imgs.join("alpine-3.10.4.oci");
    push(
        &format!("oci:{}:3.10", layout.display()),
        port,
        "library/alpine:3.10",
        false,
    );
    let r = format!("registry:127.0.0.1:{port}/library/alpine:3.10");
    let creds = ["--username", "stella", "--password", "s3cret"];
    let mut args = vec!["sbom", r.as_str(), "--insecure", "-f", "stella-json"];
    args.extend(creds);
    let (code, out, err) = stella(&args);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["packages"].as_array().unwrap().len(), 14);
    assert_eq!(v["os"]["id"], "alpine");
    // no credentials, wrong credentials, no --insecure
    let (code, _, err) = stella(&["sbom", &r, "--insecure"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("authentication failed") && err.contains("--username"),
        "{err}"
    );
    let (code, _, err) = stella(&[
        "sbom",
        &r,
        "--insecure",
        "--username",
        "stella",
        "--password",
        "nope",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("authentication failed"), "{err}");
    let (code, _, err) = stella(&["sbom", &r]);
    assert_eq!(code, 2);
    assert!(err.contains("127.0.0.1"), "{err}");
    let (code, _, err) = stella(&[
        "sbom",
        &format!("registry:127.0.0.1:{port}/library/missing:1"),
        "--insecure",
        "--username",
        "stella",
        "--password",
        "s3cret",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("404") || err.contains("MANIFEST_UNKNOWN"),
        "{err}"
    );
    // a multi-platform index: the same image for two platforms
    let multi = dir.path().join("multi");
    std::fs::create_dir_all(multi.join("blobs/sha256")).unwrap();
    for e in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), multi.join("blobs/sha256").join(e.file_name())).unwrap();
    }
    std::fs::copy(layout.join("oci-layout"), multi.join("oci-layout")).unwrap();
    let idx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let m = &idx["manifests"][0];
    let entry = |arch: &str| {
        serde_json::json!({"mediaType": m["mediaType"], "digest": m["digest"], "size": m["size"],
                           "platform": {"os": "linux", "architecture": arch}})
    };
    let inner = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [entry("amd64"), entry("arm64")]
    }))
    .unwrap();
    use sha2::Digest as _;
    let hex: String = sha2::Sha256::digest(&inner)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(multi.join("blobs/sha256").join(&hex), &inner).unwrap();
    std::fs::write(
        multi.join("index.json"),
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": format!("sha256:{hex}"),
             "size": inner.len(), "annotations": {"org.opencontainers.image.ref.name": "multi"}}]}))
        .unwrap(),
    )
    .unwrap();
    push(
        &format!("oci:{}:multi", multi.display()),
        port,
        "library/alpine:multi",
        true,
    );
    let rm = format!("registry:127.0.0.1:{port}/library/alpine:multi");
    let mut args = vec![
        "sbom",
        rm.as_str(),
        "--insecure",
        "--platform",
        "linux/arm64",
    ];
    args.extend(creds);
    let (code, _, err) = stella(&args);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("14 packages"), "{err}");
    let mut args = vec![
        "sbom",
        rm.as_str(),
        "--insecure",
        "--platform",
        "linux/s390x",
    ];
    args.extend(creds);
    let (code, _, err) = stella(&args);
    assert_eq!(code, 2);
    assert!(
        err.contains("no image for linux/s390x") && err.contains("linux/arm64"),
        "{err}"
    );
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(port: u16, what: &str) {
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{what} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The bearer-token flow Docker Hub, GHCR and Harbor use: docker-registry with `auth: token`
/// verifying JWTs from a token service (tests/support/token_server.py, signing with openssl).
#[test]
fn pulls_with_bearer_tokens_from_a_token_service() {
    let Some(imgs) = images() else {
        eprintln!("SKIP: shared images are absent");
        return;
    };
    if !have("docker-registry", "--version")
        || !have("skopeo", "--version")
        || !have("openssl", "version")
    {
        eprintln!("SKIP: docker-registry, skopeo and openssl are needed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=stella-test-token",
            "-keyout",
        ])
        .arg(d("key.pem"))
        .arg("-out")
        .arg(d("cert.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    let (tport, rport) = (free_port(), free_port());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/token_server.py");
    let _tokens = Proc(
        Command::new("python3")
            .arg(&script)
            .arg(tport.to_string())
            .arg(d("key.pem"))
            .arg(d("cert.pem"))
            .args(["stella", "s3cret", "stella-test-issuer", "stella-test"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::fs::create_dir_all(d("data")).unwrap();
    std::fs::write(
        d("config.yml"),
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{rport}\nauth:\n  token:\n    realm: http://127.0.0.1:{tport}/token\n    service: stella-test\n    issuer: stella-test-issuer\n    rootcertbundle: {}\n",
            d("data").display(),
            d("cert.pem").display()
        ),
    )
    .unwrap();
    let _registry = Proc(
        Command::new("docker-registry")
            .arg("serve")
            .arg(d("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(tport, "the token service");
    wait_for(rport, "docker-registry");
    let layout = imgs.join("alpine-3.10.4.oci");
    for dest in ["library/alpine:3.10", "private/alpine:3.10"] {
        push(
            &format!("oci:{}:3.10", layout.display()),
            rport,
            dest,
            false,
        );
    }
    // anonymous pull of a public repository: a token without credentials
    let public = format!("registry:127.0.0.1:{rport}/library/alpine:3.10");
    let (code, _, err) = stella(&["sbom", &public, "--insecure"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("14 packages"), "{err}");
    // a private one needs the user's token
    let private = format!("registry:127.0.0.1:{rport}/private/alpine:3.10");
    let (code, _, err) = stella(&["sbom", &private, "--insecure"]);
    assert_eq!(code, 2);
    assert!(err.contains("authentication failed"), "{err}");
    let (code, _, err) = stella(&[
        "sbom",
        &private,
        "--insecure",
        "--username",
        "stella",
        "--password",
        "s3cret",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = stella(&[
        "sbom",
        &private,
        "--insecure",
        "--username",
        "stella",
        "--password",
        "bad",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("token service answered 401"), "{err}");
}

/// Core pulls an image by reference (`{"image": {"reference": …}}`), catalogs it, and keeps
/// the layers' fragments for every later caller.
#[test]
fn core_pulls_and_scans_an_image_by_reference() {
    let Some(imgs) = images() else {
        eprintln!("SKIP: shared images are absent");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some((_reg, port)) = start(dir.path()) else {
        return;
    };
    let layout = imgs.join("alpine-3.10.4.oci");
    push(
        &format!("oci:{}:3.10", layout.display()),
        port,
        "library/alpine:3.10",
        false,
    );
    let db = common::secdb_db(dir.path());
    // the registry's credentials reach Core through the environment
    let mut cmd = common::serve_command(&dir.path().join("core"));
    cmd.arg("--db")
        .arg(&db)
        .arg("--insecure-registry")
        .env("STELLA_REGISTRY_USERNAME", "stella")
        .env("STELLA_REGISTRY_PASSWORD", "s3cret");
    let server = common::spawn_server(cmd, &dir.path().join("core"));
    let auth = common::admin_bearer(&server);
    let reference = format!("127.0.0.1:{port}/library/alpine:3.10");
    let (code, _, body) = common::status_of(
        ureq::post(&format!("{}/api/v1/scan?wait=true", server.url))
            .set("Authorization", &auth)
            .send_string(&format!(r#"{{"image":{{"reference":"{reference}"}}}}"#)),
    );
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["target"]["kind"], "image");
    assert_eq!(v["target"]["reference"], reference.as_str());
    assert_eq!(v["target"]["os"]["family"], "alpine");
    // Core's own fragments serve every caller: no layer of this image is missing now
    let (code, _, m) = common::status_of(
        ureq::post(&format!("{}/api/v1/layers/missing", server.url))
            .set("Authorization", &auth)
            .send_string(&format!(r#"{{"layers":["sha256:{}"]}}"#, "0".repeat(64))),
    );
    assert_eq!(code, 200);
    assert!(m.contains("sha256:000"), "an unknown layer is missing: {m}");
    // an image that does not exist is a 422 that names it
    let (code, ct, body) = common::status_of(
        ureq::post(&format!("{}/api/v1/scan?wait=true", server.url))
            .set("Authorization", &auth)
            .send_string(&format!(
                r#"{{"image":{{"reference":"127.0.0.1:{port}/library/nope:1"}}}}"#
            )),
    );
    assert_eq!(
        (code, ct.as_str()),
        (422, "application/problem+json"),
        "{body}"
    );
    assert!(body.contains("nope"), "{body}");
    common::stop(server);
}
