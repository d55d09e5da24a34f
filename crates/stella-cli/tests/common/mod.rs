//! Shared by the `stella serve` end-to-end tests: a real server on a loopback port, a DB
//! built from a small Alpine secdb, tokens from the server's own token endpoint.

#![allow(dead_code, clippy::unwrap_used, clippy::print_stderr)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub fn stella() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stella"))
}

/// Whether `tool ARG` runs here (tests of optional tools skip loudly without them).
pub fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A server that is killed when the test ends, however it ends.
pub struct Server {
    pub child: Option<Child>,
    pub url: String,
    pub data: PathBuf,
    /// Every line the server wrote to stderr so far.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts `stella serve` on a free port.
pub fn serve(data: &Path, db: &Path, extra: &[&str]) -> Server {
    let mut cmd = serve_command(data);
    cmd.arg("--db").arg(db).args(extra);
    spawn_server(cmd, data)
}

/// `stella serve --listen 127.0.0.1:0 --data DATA`, with none of the environment's
/// `STELLA_*` server settings, for tests that add their own flags or environment. In the
/// scaled pass ([`scaled`]) it runs on Redis + PostgreSQL.
pub fn serve_command(data: &Path) -> Command {
    let mut cmd = stella();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(store_flags(data))
        .env_remove("STELLA_DB")
        .env_remove("STELLA_POLICY")
        .env_remove("STELLA_ANONYMOUS")
        .env_remove("STELLA_ISSUER")
        // no nightly fetch of the public feeds from a test's Core (`--feeds FILE` overrides)
        .env("STELLA_FEEDS", "off");
    if scaled() {
        // a restarted Core takes over its own earlier jobs after the lease, as a replica would
        cmd.args(["--lease-secs", "2"]);
    }
    cmd
}

/// Whether this is the scaled pass of the API tests: scripts/test runs them a second time
/// with `STELLA_TEST_SCALED=1` against the redis-server and PostgreSQL it started
/// (`STELLA_TEST_REDIS_URL`, `STELLA_TEST_POSTGRES_URL`).
pub fn scaled() -> bool {
    std::env::var("STELLA_TEST_SCALED").as_deref() == Ok("1")
}

/// In the scaled pass, `--redis URL --postgres URL --redis-prefix P`: one PostgreSQL
/// database and one key prefix per data directory, so a test that restarts Core on its data
/// directory finds what it stored, and tests never see each other's.
pub fn store_flags(data: &Path) -> Vec<String> {
    if !scaled() {
        return Vec::new();
    }
    let redis = std::env::var("STELLA_TEST_REDIS_URL").expect("STELLA_TEST_REDIS_URL");
    let pg = std::env::var("STELLA_TEST_POSTGRES_URL").expect("STELLA_TEST_POSTGRES_URL");
    let h = stella_sbom::hash::Fnv64::of(data.to_string_lossy().as_bytes());
    let name = format!("t{h:016x}");
    let mut c = postgres::Client::connect(&pg, postgres::NoTls).unwrap();
    let exists = c
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .unwrap()
        .is_some();
    if !exists {
        // two processes may race to create it: the loser's error is harmless
        let _ = c.batch_execute(&format!("CREATE DATABASE {name}"));
    }
    let base = pg.rsplit_once('/').unwrap().0;
    vec![
        "--redis".into(),
        redis,
        "--postgres".into(),
        format!("{base}/{name}"),
        "--redis-prefix".into(),
        name,
    ]
}

/// Spawns a `stella serve` command and waits until it listens; its stderr lines before that
/// are printed, later ones kept in `Server::log`.
pub fn spawn_server(mut cmd: Command, data: &Path) -> Server {
    let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut early = Vec::new();
    let url = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("the server ended before listening: {early:?}"))
            .unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
        eprintln!("server: {line}");
        early.push(line);
    };
    // keep draining stderr so the server never blocks on it
    let log = std::sync::Arc::new(std::sync::Mutex::new(early));
    let l = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            l.lock().unwrap().push(line);
        }
    });
    Server {
        child: Some(child),
        url,
        data: data.to_path_buf(),
        log,
    }
}

/// SIGTERM, and the server must exit 0 after the requests in flight.
pub fn stop(mut server: Server) {
    let mut child = server.child.take().unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0: {status}");
}

/// Stops the server gracefully, then hands its stderr lines to `check`.
pub fn stop_keep_log(server: Server, check: impl FnOnce(&[String])) {
    let log = server.log.clone();
    stop(server);
    // the reader thread drains the last lines after exit
    std::thread::sleep(std::time::Duration::from_millis(100));
    let lines = log.lock().unwrap().clone();
    check(&lines);
}

/// (status, content type, body) of any answer.
pub fn status_of(r: Result<ureq::Response, ureq::Error>) -> (u16, String, String) {
    match r {
        Ok(resp) => {
            let ct = resp.content_type().to_string();
            (resp.status(), ct, resp.into_string().unwrap())
        }
        Err(ureq::Error::Status(code, resp)) => {
            let ct = resp.content_type().to_string();
            (code, ct, resp.into_string().unwrap())
        }
        Err(e) => panic!("{e}"),
    }
}

/// The response, whatever its status.
pub fn response(r: Result<ureq::Response, ureq::Error>) -> ureq::Response {
    match r {
        Ok(resp) | Err(ureq::Error::Status(_, resp)) => resp,
        Err(e) => panic!("{e}"),
    }
}

/// Adds a client with `stella token add-client NAME EXTRA…` on a stopped Core's data
/// directory; its secret.
pub fn add_client(data: &Path, name: &str, extra: &[&str]) -> String {
    let out = stella()
        .args(["token", "add-client", name, "--data"])
        .arg(data)
        .args(store_flags(data))
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("client_secret=").map(str::to_string))
        .unwrap()
}

/// The identity in `data`'s store (in the scaled pass, the shared one).
pub fn admin_store(data: &Path) -> stella_core::identity::Admin {
    let f = store_flags(data);
    let scaled = (f.len() == 6).then(|| stella_store::ScaledOptions {
        prefix: f[5].clone(),
        pg_connections: 1,
        ..stella_store::ScaledOptions::new(&f[1], &f[3], 10)
    });
    stella_core::identity::Admin::open(data, scaled.as_ref()).unwrap()
}

/// A token for `client` with `secret` (client_credentials).
pub fn token(url: &str, client: &str, secret: &str) -> String {
    let r = ureq::post(&format!("{url}/connect/token"))
        .send_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", secret),
        ])
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

/// `Bearer …` for the bootstrap admin client of a data directory.
pub fn admin_bearer(server: &Server) -> String {
    let secret = std::fs::read_to_string(server.data.join("admin.secret")).unwrap();
    format!("Bearer {}", token(&server.url, "admin", secret.trim()))
}

/// A DB with two memcached CVEs for Alpine 3.17 (real secdb shape).
pub fn secdb_db(work: &Path) -> PathBuf {
    secdb_db_with(
        work,
        "v3.17",
        r#"{"pkg":{"name":"memcached","secfixes":{"1.6.22-r0":["CVE-2023-46853"],"1.6.30-r0":["CVE-2099-1111"]}}}"#,
    )
}

/// A DB imported from one Alpine secdb `main.json` of `release` (`v3.17`) with `packages`
/// (the JSON of its `packages` entries).
pub fn secdb_db_with(work: &Path, release: &str, packages: &str) -> PathBuf {
    let secdb = work.join(format!("secdb-{release}")).join(release);
    std::fs::create_dir_all(&secdb).unwrap();
    std::fs::write(
        secdb.join("main.json"),
        format!(
            r#"{{"distroversion":"{release}","reponame":"main","archs":["x86_64"],"packages":[{packages}]}}"#
        ),
    )
    .unwrap();
    let db = work.join(format!("{release}.db"));
    let out = stella()
        .args(["db", "import", "--format", "alpine-secdb", "--db"])
        .arg(&db)
        .arg(&secdb)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

/// A CycloneDX SBOM with the vulnerable memcached.
pub fn memcached_sbom() -> String {
    let purl = "pkg:apk/alpine/memcached@1.6.17-r0?arch=x86_64&distro=alpine-3.17.3";
    format!(
        r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{{"type":"library","bom-ref":"a","name":"memcached","version":"1.6.17-r0","purl":"{purl}"}}]}}"#
    )
}

/// Sends raw bytes to the server and returns what it answers (until it closes or 5 s pass).
pub fn raw_request(url: &str, request: &str) -> String {
    use std::io::{Read as _, Write as _};
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.windows(4).any(|w| w == b"\r\n\r\n") && out.ends_with(b"}") {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Polls a queued scan until it is stored (200) or 30 s pass; its body.
pub fn wait_for(url: &str, location: &str, auth: &str) -> String {
    let start = std::time::Instant::now();
    loop {
        let (code, _, body) = status_of(
            ureq::get(&format!("{url}{location}"))
                .set("Authorization", auth)
                .call(),
        );
        match code {
            200 => return body,
            202 if start.elapsed().as_secs() < 30 => {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert!(
                    matches!(v["state"].as_str(), Some("queued" | "running")),
                    "{body}"
                );
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            _ => panic!("{location}: {code} {body}"),
        }
    }
}
