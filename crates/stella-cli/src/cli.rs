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
    /// Build an image's SBOM (`stella sbom TARGET`), or convert SBOM documents.
    Sbom(Box<SbomArgs>),
    /// Build and inspect the vulnerability DB.
    #[command(subcommand)]
    Db(DbCommand),
    /// Scan an image for vulnerabilities (offline, against a local DB) and gate on them.
    Scan(Box<ScanArgs>),
    /// Check policies and evaluate them over scan results.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Run Stella Core: the REST API (docs/api.md) on the embedded store, or as one replica
    /// of many on Redis and PostgreSQL (--redis, --postgres; docs/deployment.md).
    Serve(Box<ServeArgs>),
    /// Run scan workers only (no API, no scheduler) on the Redis and PostgreSQL that Core
    /// replicas share; --redis and --postgres required. (The API's and the scheduler's flags
    /// of `stella serve` are accepted, so one configuration serves both, but not shown.)
    #[command(mut_arg("listen", |a| a.hide(true)))]
    #[command(mut_arg("policy", |a| a.hide(true)))]
    #[command(mut_arg("max_body_mib", |a| a.hide(true)))]
    #[command(mut_arg("issuer", |a| a.hide(true)))]
    #[command(mut_arg("anonymous", |a| a.hide(true)))]
    #[command(mut_arg("tls_cert", |a| a.hide(true)))]
    #[command(mut_arg("tls_key", |a| a.hide(true)))]
    #[command(mut_arg("request_timeout_secs", |a| a.hide(true)))]
    #[command(mut_arg("header_timeout_secs", |a| a.hide(true)))]
    #[command(mut_arg("feeds", |a| a.hide(true)))]
    #[command(mut_arg("feeds_cron", |a| a.hide(true)))]
    #[command(mut_arg("rescan_cron", |a| a.hide(true)))]
    #[command(mut_arg("schedule_jitter_secs", |a| a.hide(true)))]
    #[command(mut_arg("job_retries", |a| a.hide(true)))]
    #[command(mut_arg("job_backoff_secs", |a| a.hide(true)))]
    #[command(mut_arg("rescan_images", |a| a.hide(true)))]
    #[command(mut_arg("rescan_labels", |a| a.hide(true)))]
    #[command(mut_arg("rescan_max_age_days", |a| a.hide(true)))]
    #[command(mut_arg("webhook", |a| a.hide(true)))]
    #[command(mut_arg("webhook_secret", |a| a.hide(true)))]
    #[command(mut_arg("db_pubkey", |a| a.hide(true)))]
    #[command(mut_arg("kit_key", |a| a.hide(true)))]
    #[command(mut_arg("installation", |a| a.hide(true)))]
    #[command(mut_arg("retention_days", |a| a.hide(true)))]
    #[command(mut_arg("result_cache_mib", |a| a.hide(true)))]
    #[command(mut_arg("scan_memory_mib", |a| a.hide(true)))]
    #[command(mut_arg("no_workers", |a| a.hide(true)))]
    #[command(mut_arg("queue_limit", |a| a.hide(true)))]
    Worker(Box<ServeArgs>),
    /// Manage who may call Core: clients, users, signing keys, offline tokens (on a stopped
    /// Core's data directory), and fetch a token from a running Core.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The scheduler of a running Core: jobs, their runs, new criticals; run a job now.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Sign and verify attestations: SBOMs, scan results and provenance as in-toto statements
    /// in DSSE envelopes or Sigstore bundles (docs/attestations.md).
    #[command(subcommand)]
    Attest(crate::attest_cmd::AttestCommand),
    /// Offline Update Kits: build, verify and import the signed DB kits air-gapped sites
    /// install (docs/air-gap.md).
    #[command(subcommand)]
    Ouk(crate::ouk_cmd::OukCommand),
    /// Internal: evaluates one Rego policy job from standard input in a limited process.
    #[command(name = "__rego-sandbox", hide = true)]
    RegoSandbox,
}

/// `stella serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:8080`; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080", env = "STELLA_LISTEN")]
    pub listen: String,
    /// The data directory (the embedded store; created when missing).
    #[arg(long, default_value = "stella-data", env = "STELLA_DATA")]
    pub data: PathBuf,
    /// The vulnerability DB (default: the bundled snapshot of real advisories, compiled into
    /// DATA on first start; frozen, so run `stella db update` for current data).
    #[arg(long, env = "STELLA_DB")]
    pub db: Option<PathBuf>,
    /// The policy every scan is judged by (one YAML file and any .rego files). Repeatable.
    #[arg(
        long,
        value_name = "FILE",
        env = "STELLA_POLICY",
        value_delimiter = ','
    )]
    pub policy: Vec<PathBuf>,
    /// Fail scans with a finding at least this severe.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<String>,
    /// Largest request body in MiB.
    #[arg(long, default_value_t = 64)]
    pub max_body_mib: usize,
    /// The URL clients reach Core at, named as `iss` in every token and the base of
    /// `/.well-known/openid-configuration` (default: `http://` and the listening address).
    #[arg(long, env = "STELLA_ISSUER")]
    pub issuer: Option<String>,
    /// Let callers without a token scan (33 scans a day per client address).
    #[arg(long, env = "STELLA_ANONYMOUS")]
    pub anonymous: bool,
    /// Workers for queued scans (0: one per core).
    #[arg(long, default_value_t = 0, env = "STELLA_WORKERS")]
    pub workers: usize,
    /// Scans the queue holds (queued and running) before Core answers 503.
    #[arg(long, default_value_t = 10_000)]
    pub queue_limit: u64,
    /// Let Core pull images from plain-HTTP registries on this machine.
    #[arg(long)]
    pub insecure_registry: bool,
    /// Registry user for images Core pulls.
    #[arg(long, env = "STELLA_REGISTRY_USERNAME")]
    pub registry_username: Option<String>,
    /// Registry password or token for images Core pulls.
    #[arg(long, env = "STELLA_REGISTRY_PASSWORD", hide_env_values = true)]
    pub registry_password: Option<String>,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(
        long,
        env = "STELLA_TLS_CERT",
        requires = "tls_key",
        value_name = "PEM"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(
        long,
        env = "STELLA_TLS_KEY",
        requires = "tls_cert",
        value_name = "PEM"
    )]
    pub tls_key: Option<PathBuf>,
    /// Log lines: `json` (one object per line, for collectors) or `text`.
    #[arg(long, default_value = "json", env = "STELLA_LOG_FORMAT")]
    pub log_format: String,
    /// Longest time one request may take, in seconds.
    #[arg(long, default_value_t = 300)]
    pub request_timeout_secs: u64,
    /// Longest time a client may take to send its request headers, in seconds.
    #[arg(long, default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Feeds the nightly merge fetches (`{"sources":[{"name","url","format"}]}`, as for
    /// `stella db update --config`); without it the default public feeds (OSV for every
    /// ecosystem and distribution, NVD, KEV, EPSS); `off` for no feed job at all.
    #[arg(long, env = "STELLA_FEEDS")]
    pub feeds: Option<PathBuf>,
    /// When to merge feeds: a cron expression in UTC (`off` for on demand only).
    #[arg(long, default_value = "59 0 * * *")]
    pub feeds_cron: String,
    /// When to re-scan stored SBOMs (cron, UTC); by default right after each successful
    /// feed merge.
    #[arg(long)]
    pub rescan_cron: Option<String>,
    /// Scheduled runs start up to this many seconds after their minute (the same for every
    /// replica), to spread the load on feed servers.
    #[arg(long, default_value_t = 300)]
    pub schedule_jitter_secs: u64,
    /// Retries of a failed job (waits double from --job-backoff-secs).
    #[arg(long, default_value_t = 3)]
    pub job_retries: u32,
    /// First wait before retrying a failed job, in seconds.
    #[arg(long, default_value_t = 60)]
    pub job_backoff_secs: u64,
    /// Images to re-scan (globs, repeatable); default all.
    #[arg(long = "rescan-image")]
    pub rescan_images: Vec<String>,
    /// Images whose latest scan is older than this many days are not re-scanned.
    #[arg(long, default_value_t = 180)]
    pub rescan_max_age_days: u64,
    /// Only images whose latest scan was sent with this label (`KEY=VALUE`, repeatable: all
    /// must match; scans take labels as `POST /api/v1/scan?labels=KEY=VALUE,…`).
    #[arg(long = "rescan-label")]
    pub rescan_labels: Vec<String>,
    /// Where re-scans send new criticals and expired mutes (POST, JSON).
    #[arg(long, env = "STELLA_WEBHOOK")]
    pub webhook: Option<String>,
    /// Key of the webhook's `X-Stella-Signature-256` (HMAC-SHA256 of the body).
    #[arg(long, env = "STELLA_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// Public key (PEM) a prebuilt DB fetched by the feed job (a `stella-db` source in
    /// --feeds) must be signed with; without it the signature is not checked.
    #[arg(long, env = "STELLA_DB_PUBKEY", value_name = "PEM")]
    pub db_pubkey: Option<PathBuf>,
    /// Public key (PEM) Offline Update Kits posted to /api/v1/ouk must be signed with;
    /// repeat for several (docs/air-gap.md). Without one, kits are refused.
    #[arg(long, value_name = "PEM")]
    pub kit_key: Vec<PathBuf>,
    /// This installation's id: kits built for another installation are refused.
    #[arg(long, value_name = "ID", env = "STELLA_INSTALLATION")]
    pub installation: Option<String>,
    /// The store replicas and workers share, scaled out.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Delete scans older than this many days, hourly (PostgreSQL only; default: keep all).
    #[arg(long, value_name = "DAYS")]
    pub retention_days: Option<u32>,
    /// How long a worker holds a queued scan without renewing it, in seconds: a killed
    /// worker's scan moves to another worker after this.
    #[arg(long, default_value_t = 60)]
    pub lease_secs: u64,
    /// Memory for results reused by identical requests, in MiB (0: always scan again).
    #[arg(long, default_value_t = 32)]
    pub result_cache_mib: usize,
    /// Memory the scans in flight may take together, in MiB: a scan reserves 17× its SBOM's
    /// size (at least 1 MiB) before it starts and waits while the budget is taken; one larger
    /// than the budget runs alone.
    #[arg(long, default_value_t = 1024)]
    pub scan_memory_mib: usize,
    /// When the policy cannot be evaluated at scan time: `error` gives the verdict ERROR,
    /// which fails the gate (fail-closed); `pass` judges by --fail-on alone (fail-open).
    #[arg(long, value_parser = ["error", "pass"], default_value = "error")]
    pub policy_errors: String,
    /// The key-encryption key the signing keys are sealed under in the store (64 hex
    /// digits, `openssl rand -hex 32`); else STELLA_KEK, else DATA/kek.key (made on the first
    /// start). Scaled out, every replica and worker needs the same one.
    #[arg(long, env = "STELLA_KEK_FILE", value_name = "FILE")]
    pub kek_file: Option<PathBuf>,
    /// Run no scan workers in this process (replicas in front of `stella worker`s).
    #[arg(long)]
    pub no_workers: bool,
}

/// `stella token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Add a client (a pipeline): prints its id and secret, shown only this once.
    AddClient(TokenAddArgs),
    /// Add a user (a person, for the UI's password login); reads the password from stdin.
    AddUser(TokenAddArgs),
    /// List clients and users.
    List(TokenDataArgs),
    /// Remove a client (or, with --user, a user): its tokens stop being issued.
    Remove(TokenRemoveArgs),
    /// Start signing with a new key; tokens signed earlier stay valid until they expire.
    RotateKey(TokenDataArgs),
    /// Mint an offline token (1–90 days) for a client, for air-gapped sites.
    Offline(TokenOfflineArgs),
    /// Get a token from a running Core (OAuth2 client_credentials) and print it.
    Get(TokenGetArgs),
}

impl StoreArgs {
    /// The shared store, when --redis and --postgres name one.
    pub fn scaled(&self, queue_limit: u64) -> Option<stella_store::ScaledOptions> {
        match (&self.redis, &self.postgres) {
            (Some(r), Some(p)) => Some(stella_store::ScaledOptions {
                prefix: self.redis_prefix.clone(),
                ..stella_store::ScaledOptions::new(r, p, queue_limit)
            }),
            _ => None,
        }
    }
}

impl TokenDataArgs {
    /// The shared store, when --redis and --postgres name one (one connection is plenty).
    pub fn scaled(&self) -> Option<stella_store::ScaledOptions> {
        self.store
            .scaled(10_000)
            .map(|o| stella_store::ScaledOptions {
                pg_connections: 1,
                ..o
            })
    }
}

/// The data directory of `stella token` commands.
#[derive(Debug, Args)]
pub struct TokenDataArgs {
    /// Core's data directory.
    #[arg(long, default_value = "stella-data", env = "STELLA_DATA")]
    pub data: PathBuf,
    /// Scaled out: the store Core replicas share (no data directory needed then, and
    /// replicas may keep running).
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Redis and PostgreSQL shared by every replica and worker (docs/deployment.md).
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Redis shared by every replica and worker (`redis://[:PASSWORD@]HOST:6379[/DB]`);
    /// with --postgres, Core keeps its state there instead of in DATA.
    #[arg(
        long,
        env = "STELLA_REDIS_URL",
        requires = "postgres",
        hide_env_values = true
    )]
    pub redis: Option<String>,
    /// PostgreSQL shared by every replica and worker
    /// (`postgres://USER[:PASSWORD]@HOST:5432/DB`); migrations run at start.
    #[arg(
        long,
        env = "STELLA_POSTGRES_URL",
        requires = "redis",
        hide_env_values = true
    )]
    pub postgres: Option<String>,
    /// Prefix of every Redis key (deployments sharing one Redis use different ones).
    #[arg(long, default_value = "stella", env = "STELLA_REDIS_PREFIX")]
    pub redis_prefix: String,
}

/// `stella token add-client|add-user NAME`
#[derive(Debug, Args)]
pub struct TokenAddArgs {
    /// The client id or user name (letters, digits, - _ . @).
    pub name: String,
    /// Scopes: scan, policy:write, admin. Repeatable.
    #[arg(long = "scope", default_values_t = ["scan".to_string()], value_delimiter = ',')]
    pub scopes: Vec<String>,
    /// The plan.
    #[arg(long, default_value = "Free")]
    pub tier: String,
    /// Daily scan limit.
    #[arg(long, default_value_t = 333)]
    pub max_scans_per_day: u32,
    #[command(flatten)]
    pub data: TokenDataArgs,
}

/// `stella token remove NAME`
#[derive(Debug, Args)]
pub struct TokenRemoveArgs {
    /// The client id (or user name with --user).
    pub name: String,
    /// Remove a user, not a client.
    #[arg(long)]
    pub user: bool,
    #[command(flatten)]
    pub data: TokenDataArgs,
}

/// `stella token offline --client NAME`
#[derive(Debug, Args)]
pub struct TokenOfflineArgs {
    /// The client the token is for.
    #[arg(long)]
    pub client: String,
    /// Days it lives (1–90).
    #[arg(long, default_value_t = 30)]
    pub days: u64,
    /// The issuer (default: the one Core last ran with).
    #[arg(long)]
    pub issuer: Option<String>,
    #[command(flatten)]
    pub data: TokenDataArgs,
}

/// `stella jobs …`
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Each job's schedule, next run and last run.
    List(JobsArgs),
    /// The run history, newest first.
    Runs(JobsRunsArgs),
    /// Run a job now (`feeds` or `rescan`; needs the admin scope) and wait for its outcome.
    Run(JobsRunArgs),
    /// Images whose latest re-scan found new criticals.
    Criticals(JobsArgs),
}

/// Where Core is and how to reach it.
#[derive(Debug, Args)]
pub struct JobsArgs {
    /// Core's URL.
    #[arg(long, env = "STELLA_SERVER")]
    pub server: String,
    /// A bearer token (or STELLA_CLIENT_ID and STELLA_CLIENT_SECRET to get one).
    #[arg(long, env = "STELLA_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The tenant to act in (default: the token's only tenant, else the default tenant).
    #[arg(long, env = "STELLA_TENANT", value_name = "ID")]
    pub tenant: Option<String>,
}

/// `stella jobs runs`
#[derive(Debug, Args)]
pub struct JobsRunsArgs {
    #[command(flatten)]
    pub server: JobsArgs,
    /// Only this job's runs.
    #[arg(long)]
    pub job: Option<String>,
    /// How many.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

/// `stella jobs run NAME`
#[derive(Debug, Args)]
pub struct JobsRunArgs {
    #[command(flatten)]
    pub server: JobsArgs,
    /// `feeds` or `rescan`.
    pub name: String,
    /// Return at once instead of waiting for the run to finish.
    #[arg(long)]
    pub no_wait: bool,
}

/// `stella token get --server URL --client-id ID`
#[derive(Debug, Args)]
pub struct TokenGetArgs {
    /// Core's URL.
    #[arg(long, env = "STELLA_SERVER")]
    pub server: String,
    /// The client id.
    #[arg(long, env = "STELLA_CLIENT_ID")]
    pub client_id: String,
    /// The client secret (prefer --client-secret-file or the environment).
    #[arg(long, env = "STELLA_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// A file holding the client secret (such as DATA/admin.secret).
    #[arg(long, value_name = "FILE")]
    pub client_secret_file: Option<PathBuf>,
    /// Scopes to ask for (space-separated; default: all the client has).
    #[arg(long)]
    pub scope: Option<String>,
}

/// `stella policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check a policy file: every error with its line and column; exit 2 when invalid.
    Validate(PolicyValidateArgs),
    /// Evaluate a policy over a scan result (`stella scan -f json`) and print the verdict;
    /// exit 1 when it fails.
    Eval(PolicyEvalArgs),
    /// Check a policy against golden cases: every `NAME.scan.json` in DIR with its
    /// `NAME.expect.yaml` (`status`, and optionally `today`, `deny`, `warn`, `muted`,
    /// `ignored`); exit 1 when any case disagrees.
    Test(PolicyTestArgs),
    /// Make a policy (one YAML file and any `.rego` files) the active version at Core.
    Push(PolicyPushArgs),
    /// Print Core's active policy (YAML; `--output DIR` also writes its Rego files), or the
    /// built-in default when none is set.
    Pull(PolicyPullArgs),
    /// Mute a vulnerability at Core (with a reason, optionally until a day, optionally for
    /// one package: a purl without a version names every version of it).
    Mute(PolicyMuteArgs),
    /// Remove a mute at Core by its id (`stella policy mutes` lists them).
    Unmute(PolicyUnmuteArgs),
    /// List Core's mutes.
    Mutes(JobsArgs),
}

/// `stella policy push FILE… --server URL`
#[derive(Debug, Args)]
pub struct PolicyPushArgs {
    #[command(flatten)]
    pub server: JobsArgs,
    /// The policy: at most one YAML file and any number of `.rego` files.
    #[arg(required = true)]
    pub policy: Vec<PathBuf>,
    /// Why this version (kept in the policy history).
    #[arg(long)]
    pub comment: Option<String>,
}

/// `stella policy pull --server URL`
#[derive(Debug, Args)]
pub struct PolicyPullArgs {
    #[command(flatten)]
    pub server: JobsArgs,
    /// Write `policy.yaml` and the Rego files into this directory instead of printing.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output: Option<PathBuf>,
}

/// `stella policy mute VULNERABILITY --reason WHY --server URL`
#[derive(Debug, Args)]
pub struct PolicyMuteArgs {
    #[command(flatten)]
    pub server: JobsArgs,
    /// The vulnerability id (or a pattern).
    pub vulnerability: String,
    /// Why (required: it is kept and shown with every muted finding).
    #[arg(long)]
    pub reason: String,
    /// Only this package (a purl; without a version: every version).
    #[arg(long)]
    pub package: Option<String>,
    /// The day it stops applying (YYYY-MM-DD).
    #[arg(long)]
    pub until: Option<String>,
}

/// `stella policy unmute ID --server URL`
#[derive(Debug, Args)]
pub struct PolicyUnmuteArgs {
    #[command(flatten)]
    pub server: JobsArgs,
    /// The mute's id.
    pub id: String,
}

/// `stella policy test FILE… --cases DIR`
#[derive(Debug, Args)]
pub struct PolicyTestArgs {
    /// The policy: one YAML file and any number of `.rego` files.
    #[arg(required = true)]
    pub policy: Vec<PathBuf>,
    /// The directory of cases.
    #[arg(long)]
    pub cases: PathBuf,
}

/// `stella policy validate FILE`
#[derive(Debug, Args)]
pub struct PolicyValidateArgs {
    /// The policy (YAML, or Rego when it ends in `.rego`).
    pub file: PathBuf,
    /// Demand an `until` on every mute (also `STELLA_REQUIRE_MUTE_EXPIRY=1`, which every
    /// command that loads a policy honours).
    #[arg(long)]
    pub require_mute_expiry: bool,
    /// Also check it against a scan result (`stella scan -f json`): every mute and rule that
    /// matches none of its findings is listed (a typo in an id or a package pattern).
    #[arg(long, value_name = "SCAN.json")]
    pub scan: Option<PathBuf>,
}

/// `stella policy eval --policy FILE --findings SCAN.json`
#[derive(Debug, Args)]
pub struct PolicyEvalArgs {
    /// The policy: one YAML file and any number of `.rego` files. Repeatable.
    #[arg(long, required = true, value_delimiter = ',')]
    pub policy: Vec<PathBuf>,
    /// A scan result in the JSON format (`stella scan -f json`).
    #[arg(long, value_name = "SCAN.json")]
    pub findings: PathBuf,
    /// `table` (the verdict and its reasons) or `json` (the scan result with the policy's
    /// marks and verdict).
    #[arg(long, short = 'f', default_value = "table")]
    pub format: String,
    /// Evaluate as of this day (YYYY-MM-DD; mutes expire against it); today by default.
    #[arg(long, value_name = "DAY")]
    pub today: Option<String>,
}

/// `stella scan TARGET`
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The image (as for `stella sbom`): `registry:REF`, `docker-archive:PATH`, `oci-dir:PATH`,
    /// `oci-archive:PATH`, `dir:PATH`, or a bare path; or an SBOM: `sbom:PATH`, or a bare path
    /// to an SBOM file (JSON, XML or SPDX tag-value).
    pub target: String,
    /// The vulnerability DB (local scans; without it, --server scans through Core).
    #[arg(long, env = "STELLA_DB")]
    pub db: Option<PathBuf>,
    /// Scan with Stella Core instead of a local DB: only the layers Core has never seen are
    /// catalogued and uploaded (Delta-SBOM); Core's policy gives the verdict.
    #[arg(long, env = "STELLA_SERVER", value_name = "URL", conflicts_with = "db")]
    pub server: Option<String>,
    /// A bearer token for --server (`stella token get`); else STELLA_CLIENT_ID and
    /// STELLA_CLIENT_SECRET fetch one.
    #[arg(long, env = "STELLA_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// With --server: the tenant the scan is filed under (default: the token's only
    /// tenant, else the default tenant).
    #[arg(long, env = "STELLA_TENANT", value_name = "ID", requires = "server")]
    pub tenant: Option<String>,
    /// When Core says the daily quota is used up, wait for the reset instead of failing.
    #[arg(long)]
    pub quota_wait: bool,
    /// The name the scan is reported and filed under (Core's image history): default, the
    /// image reference, or for an SBOM its subject (`metadata.component` name@version, the
    /// SPDX document name), else the file as given.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Output format: `table` (default), `json` (the scan result of docs/scan-result.md),
    /// `sarif` (2.1.0, for code-scanning dashboards), `junit` (XML test report), `cyclonedx`
    /// (1.6 with vulnerabilities), `cyclonedx-vex`, `openvex`, `spdx` (2.3 JSON with security
    /// references) or `html` (one self-contained page).
    #[arg(long, short = 'f', default_value = "table")]
    pub format: String,
    /// Write here instead of standard output (replaced atomically).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Fail (exit 1) when a finding is at least this severe: critical, high, medium, low.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<String>,
    /// Report only findings that have a fixed version.
    #[arg(long)]
    pub only_fixed: bool,
    /// Also match NVD's CPE configurations for language packages their ecosystem's advisories
    /// say nothing about (off by default: guessed CPEs bring false positives).
    #[arg(long)]
    pub cpe: bool,
    /// OpenVEX documents: findings they say are `not_affected` or `fixed` stay in the report,
    /// marked, and do not count for the gate. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// Print why this vulnerability (id or alias) did or did not match each package, instead
    /// of the report.
    #[arg(long, value_name = "ID")]
    pub explain: Option<String>,
    /// The policy that decides the verdict (docs/policy.md): one YAML file and any number
    /// of Rego files (`.rego`, `package stella.policy`); `deny` fails, `warn` makes it WARN,
    /// mutes and `ignore` set findings aside, marked. Repeatable.
    #[arg(
        long,
        value_name = "FILE",
        env = "STELLA_POLICY",
        value_delimiter = ','
    )]
    pub policy: Vec<PathBuf>,
    /// Findings to ignore: YAML (`ignore: [{id, purl, reason, expires}]`) or one id per line.
    #[arg(long, value_name = "FILE", env = "STELLA_IGNORE_FILE")]
    pub ignore_file: Option<PathBuf>,
    /// Warn when the DB was built more than this many days ago.
    #[arg(
        long,
        value_name = "DAYS",
        default_value_t = 7,
        env = "STELLA_DB_MAX_AGE"
    )]
    pub db_max_age: u32,
    /// The base image the scanned image was built on (same forms as TARGET): packages from
    /// the layers it shares are `layer: base` for policies, the others `application`.
    #[arg(long, value_name = "IMAGE")]
    pub base_image: Option<String>,
    /// Pick one image of a multi-platform index (`linux/arm64`).
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Fragment cache directory (see `stella sbom`).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Catalog every layer, reading and writing no cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Registry user.
    #[arg(long, env = "STELLA_REGISTRY_USERNAME")]
    pub username: Option<String>,
    /// Registry password or token.
    #[arg(long, env = "STELLA_REGISTRY_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Allow plain HTTP to a registry on this machine.
    #[arg(long)]
    pub insecure: bool,
    /// Sign the scan result with this private key (PEM, Ed25519 or ECDSA P-256) and write it
    /// as an in-toto attestation beside the report (`<output>.intoto.jsonl`).
    #[arg(long, value_name = "KEY", env = "STELLA_ATTEST_KEY")]
    pub attest: Option<PathBuf>,
    /// Where --attest writes (a name ending in `.sigstore.json` gets a Sigstore bundle).
    #[arg(long, value_name = "FILE", requires = "attest")]
    pub attest_output: Option<PathBuf>,
}

/// `stella db …`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Import feed files into a DB (created, or updated in place atomically).
    Import(DbImportArgs),
    /// Fetch every configured feed and rebuild the DB from them (atomically).
    Update(DbUpdateArgs),
    /// Show a DB's manifest: build time, feeds, counts per namespace.
    Info(DbInfoArgs),
    /// Show what the DB says about one package.
    Query(DbQueryArgs),
    /// Write the DB out as OSV records (+ KEV, EPSS) that `stella db import` reads back.
    Export(DbExportArgs),
    /// Sign the DB with an Ed25519 key (writes `<db>.sig`).
    Sign(DbSignArgs),
}

/// `stella db sign`
#[derive(Debug, Args)]
pub struct DbSignArgs {
    /// The DB file.
    #[arg(long, env = "STELLA_DB")]
    pub db: PathBuf,
    /// Ed25519 private key, PKCS#8 PEM (`openssl genpkey -algorithm ed25519`).
    #[arg(long)]
    pub key: PathBuf,
    /// Where to write the signature (default: `<db>.sig`).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

/// `stella db export`
#[derive(Debug, Args)]
pub struct DbExportArgs {
    /// The DB file.
    #[arg(long, env = "STELLA_DB")]
    pub db: PathBuf,
    /// Export format; only `osv` for now.
    #[arg(long, default_value = "osv")]
    pub format: String,
    /// Directory to write into; must not exist or be empty.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
}

/// `stella db import`
#[derive(Debug, Args)]
pub struct DbImportArgs {
    /// The DB file.
    #[arg(long, env = "STELLA_DB")]
    pub db: PathBuf,
    /// Feed format of every PATH (see docs/vulnerability-db.md): osv, alpine-secdb,
    /// debian-tracker, debian-json, debian-vuln-list, nvd, amazon, ubuntu, rocky, alma, oracle,
    /// suse, redhat-csaf, redhat-api, ghsa-graphql, azure, photon, echo, arch, rootio, glad,
    /// nodejs, alpine-package, bottlerocket, wolfi, chainguard, minimos, kev, epss.
    /// Without it, each file's format is recognised from its name.
    #[arg(long)]
    pub format: Option<String>,
    /// Start from scratch instead of adding to an existing DB.
    #[arg(long)]
    pub fresh: bool,
    /// Feed files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// `stella db update`
#[derive(Debug, Args)]
pub struct DbUpdateArgs {
    /// The DB file.
    #[arg(long, env = "STELLA_DB")]
    pub db: PathBuf,
    /// Feeds configuration (`{"sources":[{"name","url","format","sha256"?}]}`, optionally
    /// `"defaults": true`, `"disable": [...]`, `"mirrors": {...}`); without it, the default
    /// feeds (OSV for every ecosystem and distribution, NVD, KEV, EPSS; docs/vulnerability-db.md).
    #[arg(long, env = "STELLA_FEEDS")]
    pub config: Option<PathBuf>,
    /// Leave this feed out (repeatable; names as `--list` prints them).
    #[arg(long, value_name = "NAME")]
    pub disable: Vec<String>,
    /// Print the feeds this update would fetch (name, format, URL) and exit.
    #[arg(long)]
    pub list: bool,
    /// NVD API key: raises NVD's rate limit from 5 to 50 requests per 30 s.
    #[arg(long, env = "NVD_API_KEY", hide_env_values = true)]
    pub nvd_api_key: Option<String>,
    /// NVD's rate-limit window in milliseconds (NVD publishes 30,000; a mirror without limits
    /// may set 0).
    #[arg(long, env = "STELLA_NVD_WINDOW_MS", default_value_t = 30_000)]
    pub nvd_window_ms: u64,
    /// Where downloaded feed files are kept between updates (default: `<db>.feeds/` beside it).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Attempts per feed before giving up on it.
    #[arg(long, default_value_t = 4)]
    pub attempts: u32,
    /// First retry delay in milliseconds (doubles each time).
    #[arg(long, default_value_t = 500)]
    pub backoff_ms: u64,
    /// For a `stella-db` source: require the fetched DB's `.sig` to verify with this Ed25519
    /// public key (PEM) before it replaces the local DB.
    #[arg(long, env = "STELLA_DB_PUBKEY")]
    pub pubkey: Option<PathBuf>,
}

/// `stella db info`
#[derive(Debug, Args)]
pub struct DbInfoArgs {
    /// The DB file.
    #[arg(long, env = "STELLA_DB")]
    pub db: PathBuf,
    /// Print the manifest as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also check the content digest.
    #[arg(long)]
    pub verify: bool,
    /// Require a valid signature by this Ed25519 public key (PEM); implies `--verify`.
    #[arg(long, env = "STELLA_DB_PUBKEY")]
    pub pubkey: Option<PathBuf>,
    /// The signature file (default: `<db>.sig`).
    #[arg(long)]
    pub signature: Option<PathBuf>,
}

/// `stella db query`
#[derive(Debug, Args)]
pub struct DbQueryArgs {
    /// The DB file.
    #[arg(long, env = "STELLA_DB")]
    pub db: PathBuf,
    /// Namespace (`alpine:3.10`, `debian:11`, `almalinux:9`, `pypi`, `go`, `crates.io`…).
    #[arg(long)]
    pub namespace: String,
    /// Package name (distro packages: the source package).
    #[arg(long)]
    pub package: String,
}

/// `stella sbom TARGET` or `stella sbom convert …`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SbomArgs {
    /// `convert`.
    #[command(subcommand)]
    pub command: Option<SbomCommand>,
    /// Building an image's SBOM.
    #[command(flatten)]
    pub build: BuildArgs,
}

/// `stella sbom TARGET`
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The image: `registry:REF` (`registry:ghcr.io/org/app:1.2`, `registry:alpine`),
    /// `docker-archive:PATH[:TAG]` (a `docker save` tar, plain or gzip), `oci-dir:PATH[:TAG]`
    /// (an OCI layout), `oci-archive:PATH[:TAG]`, `dir:PATH` (a root filesystem), or a bare
    /// path (recognised).
    #[arg(required = true)]
    pub target: Option<String>,
    /// Output format: `cyclonedx-json` (1.6, also `@1.5`, `@1.4`), `cyclonedx-xml`,
    /// `spdx-json`, `spdx-tag-value`, or `stella-json` (packages with their layers).
    #[arg(long, short = 'f', default_value = "cyclonedx-json")]
    pub format: String,
    /// Print each layer's fragment (what that layer alone says, as JSON) instead of the SBOM.
    #[arg(long)]
    pub per_layer: bool,
    /// Write here instead of standard output (replaced atomically).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Pick one image of a multi-platform index (`linux/arm64`). Default: this machine's.
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Fragment cache directory. Default: `$STELLA_CACHE`, `$XDG_CACHE_HOME/stella`, `~/.cache/stella`.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Catalog every layer, reading and writing no cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Creation time to write (RFC 3339). Default: `SOURCE_DATE_EPOCH`, else now.
    #[arg(long, value_name = "TIME")]
    pub timestamp: Option<String>,
    /// Registry user (basic auth, or for the registry's token service).
    #[arg(long, env = "STELLA_REGISTRY_USERNAME")]
    pub username: Option<String>,
    /// Registry password or token.
    #[arg(long, env = "STELLA_REGISTRY_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Allow plain HTTP to a registry on this machine (127.0.0.1, localhost).
    #[arg(long)]
    pub insecure: bool,
}

/// `stella sbom …`
#[derive(Debug, Subcommand)]
pub enum SbomCommand {
    /// Convert an SBOM between CycloneDX, SPDX, syft and trivy formats.
    Convert(ConvertArgs),
}

/// `stella sbom convert`
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The SBOM to read (`-` for standard input). Its format is detected.
    pub input: PathBuf,
    /// Output format: `cyclonedx-json` (1.6), `cyclonedx-json@1.5`, `cyclonedx-json@1.4`,
    /// `cyclonedx-xml` (also `@1.5`, `@1.4`), `spdx-json` (2.3), `spdx-tag-value` (2.3).
    #[arg(long, short = 'f', default_value = "cyclonedx-json")]
    pub format: String,
    /// Write here instead of standard output (replaced atomically).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Read the input as this format instead of detecting it: cyclonedx-json, cyclonedx-xml,
    /// spdx-json, spdx-tag-value, spdx3-json, syft-json, trivy-json-v2.
    #[arg(long, value_name = "FORMAT")]
    pub input_format: Option<String>,
    /// Creation time to write (RFC 3339). Default: the input's, else `SOURCE_DATE_EPOCH`, else now.
    #[arg(long, value_name = "TIME")]
    pub timestamp: Option<String>,
    /// Serial number (`urn:uuid:…`) to write. Default: the input's, else derived from the content.
    #[arg(long, value_name = "URN")]
    pub serial: Option<String>,
    /// Refuse inputs larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 512 * 1024 * 1024, env = "STELLA_MAX_SBOM_BYTES")]
    pub max_size: u64,
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
