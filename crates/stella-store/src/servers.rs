//! Real `redis-server` and PostgreSQL instances on loopback for tests (feature
//! `test-servers`): each in a temporary directory of its own, on a free port, stopped and
//! removed when dropped; either can be stopped and started again on the same data.
//!
//! Traps: PostgreSQL refuses to run as root, so under root its directory is handed to the
//! `postgres` user and its programs run through `runuser`; Debian keeps `initdb` and
//! `postgres` off `PATH` (in `/usr/lib/postgresql/VERSION/bin`).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why a server could not be started (the message says what to install or look at).
pub type Error = String;

/// A port nobody listens on now.
fn free_port() -> Result<u16, Error> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn wait_for_port(port: u16, child: &mut Child, what: &str, log: &Path) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(st)) = child.try_wait() {
            return Err(format!(
                "{what} exited ({st}) before listening: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{what} did not listen on port {port} within 30 s"))
}

fn stop_child(child: &mut Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Whether `redis-server` is installed.
pub fn have_redis() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The directory holding `initdb` and `postgres`, when PostgreSQL is installed.
pub fn postgres_bin() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("STELLA_PG_BIN") {
        return Some(PathBuf::from(d));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

/// Whether a test needing both servers can run; when not, says why on stderr, and fails
/// the test when `STELLA_REQUIRE_SERVERS` is set (the test command installs them).
#[allow(clippy::print_stderr)] // test support: a skipped test must say so where tests print
pub fn available(test: &str) -> bool {
    let missing: Vec<&str> = [
        (!have_redis()).then_some("redis-server (Debian: redis-server)"),
        postgres_bin()
            .is_none()
            .then_some("PostgreSQL (Debian: postgresql)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("STELLA_REQUIRE_SERVERS").is_none(),
        "{test}: {} missing but STELLA_REQUIRE_SERVERS is set",
        missing.join(", ")
    );
    eprintln!("SKIPPED {test}: {} not installed", missing.join(", "));
    false
}

/// A `redis-server` of the test's own (append-only file on, as a deployment would run it).
pub struct RedisServer {
    dir: tempfile::TempDir,
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one.
    pub fn start() -> Result<RedisServer, Error> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut s = RedisServer {
            dir,
            port: free_port()?,
            child: None,
        };
        s.resume()?;
        Ok(s)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it again (after [`RedisServer::stop`]) on the same data and port.
    pub fn resume(&mut self) -> Result<(), Error> {
        let log = self.dir.path().join("redis.log");
        let mut child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--dir", &self.dir.path().display().to_string()])
            .args(["--appendonly", "yes", "--appendfsync", "everysec"])
            .args(["--save", "", "--daemonize", "no"])
            .args(["--logfile", &log.display().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        wait_for_port(self.port, &mut child, "redis-server", &log)?;
        self.child = Some(child);
        Ok(())
    }

    /// Stops it (SIGTERM: the append-only file is flushed).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            stop_child(&mut c, "-TERM");
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A PostgreSQL cluster of the test's own (trust authentication on loopback, fsync off:
/// tests do not survive power loss).
pub struct PostgresServer {
    dir: tempfile::TempDir,
    /// Its port on 127.0.0.1.
    pub port: u16,
    bin: PathBuf,
    root: bool,
    child: Option<Child>,
}

impl PostgresServer {
    /// Creates a cluster and starts it.
    pub fn start() -> Result<PostgresServer, Error> {
        let bin = postgres_bin().ok_or("PostgreSQL is not installed (Debian: postgresql)")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        // PostgreSQL will not run as root
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let data = dir.path().join("data");
        if root {
            let st = Command::new("chown")
                .args(["-R", "postgres:", &dir.path().display().to_string()])
                .status()
                .map_err(|e| e.to_string())?;
            if !st.success() {
                return Err("cannot hand the cluster's directory to the postgres user".into());
            }
        }
        let mut s = PostgresServer {
            dir,
            port: free_port()?,
            bin,
            root,
            child: None,
        };
        let out = s
            .command("initdb")
            .args(["-D", &data.display().to_string()])
            .args(["-U", "stella", "--auth=trust", "--no-sync", "-E", "UTF8"])
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        s.resume()?;
        Ok(s)
    }

    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    /// `postgres://stella@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://stella@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts it again (after [`PostgresServer::stop`]) on the same data and port.
    pub fn resume(&mut self) -> Result<(), Error> {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("postgres.log");
        let logfile = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let mut child = self
            .command("postgres")
            .args(["-D", &data.display().to_string()])
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args([
                "-c",
                &format!("unix_socket_directories={}", self.dir.path().display()),
            ])
            .args(["-c", "fsync=off", "-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(logfile)
            .spawn()
            .map_err(|e| format!("cannot start postgres: {e}"))?;
        wait_for_port(self.port, &mut child, "postgres", &log)?;
        self.child = Some(child);
        // listening is not ready: it refuses connections while it starts up
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = postgres::Client::connect(&self.url(), postgres::NoTls)
                .and_then(|mut c| c.simple_query("SELECT 1").map(|_| ()));
            match ready {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(format!("PostgreSQL did not accept connections: {e}"));
                }
                Err(_) => {}
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it (SIGINT: PostgreSQL's fast shutdown, clients disconnected).
    pub fn stop(&mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        // the postmaster itself, not `runuser` in front of it
        let pid = std::fs::read_to_string(self.dir.path().join("data/postmaster.pid"))
            .ok()
            .and_then(|t| t.lines().next().map(str::to_string));
        if let Some(pid) = pid {
            let _ = Command::new("kill").args(["-INT", &pid]).status();
        }
        stop_child(&mut c, "-INT");
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
    }
}
