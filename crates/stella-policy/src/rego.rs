//! Rego policies (`package stella.policy`) through `regorus`: `deny` and `warn` messages and
//! `ignore` keys over the scan's target and findings, with time and size limits.
//!
//! Traps: Rego v1 syntax (`deny contains msg if …`) is the default, v0 (`deny[msg] { … }`)
//! is accepted when v1 does not parse; an evaluation that runs past its time limit is an
//! error (the scan stops), never a PASS; messages may be strings or objects
//! (`{"msg": …, "vulnerabilityId": …, "package": …}`).

use std::num::NonZeroU32;
use std::time::Duration;

use crate::Error;

/// The package every Stella Rego policy declares.
pub const PACKAGE: &str = "data.stella.policy";

/// Largest Rego policy accepted.
pub const MAX_SOURCE_BYTES: usize = 1 << 20;

/// A parsed Rego policy.
#[derive(Clone)]
pub struct RegoPolicy {
    name: String,
    source: String,
    v0: bool,
    /// How long one evaluation may run.
    pub time_limit: Duration,
}

impl std::fmt::Debug for RegoPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegoPolicy")
            .field("name", &self.name)
            .field("v0", &self.v0)
            .finish()
    }
}

/// What a Rego policy said.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegoResult {
    /// `deny` messages.
    pub deny: Vec<Message>,
    /// `warn` messages.
    pub warn: Vec<Message>,
    /// `ignore` keys: a vulnerability id (or alias), or a finding's `key`
    /// (`<vulnerabilityId>|<purl or name@version>`).
    pub ignore: Vec<String>,
}

/// One `deny` or `warn` message.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    /// The text.
    pub msg: String,
    /// The finding it is about, when the policy says.
    pub vulnerability_id: Option<String>,
    /// Its package, when the policy says.
    pub package: Option<String>,
}

fn invalid(name: &str, message: String) -> Error {
    Error::Invalid {
        source_name: name.to_string(),
        line: None,
        column: None,
        message,
    }
}

fn engine(source: &str, name: &str, v0: bool) -> Result<regorus::Engine, String> {
    let mut e = regorus::Engine::new();
    e.set_rego_v0(v0);
    // a builtin's error (bad regex, division by zero) is an error, not a silent undefined
    e.set_strict_builtin_errors(true);
    let pkg = e
        .add_policy(name.to_string(), source.to_string())
        .map_err(|e| e.to_string())?;
    if pkg != PACKAGE {
        return Err(format!(
            "declares `package {}`; a Stella policy is `package stella.policy`",
            pkg.trim_start_matches("data.")
        ));
    }
    Ok(e)
}

impl RegoPolicy {
    /// Parses a policy (`name` names it in errors).
    pub fn new(source: &str, name: &str) -> Result<RegoPolicy, Error> {
        if source.len() > MAX_SOURCE_BYTES {
            return Err(invalid(name, "larger than 1 MiB; is this a policy?".into()));
        }
        let v0 = match engine(source, name, false) {
            Ok(_) => false,
            Err(v1_error) => match engine(source, name, true) {
                Ok(_) => true,
                // the v1 parser's complaint is the one worth reading
                Err(_) => return Err(invalid(name, v1_error)),
            },
        };
        Ok(RegoPolicy {
            name: name.to_string(),
            source: source.to_string(),
            v0,
            time_limit: Duration::from_secs(2),
        })
    }

    /// Where it came from.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Evaluates the policy over `input` (JSON text, see docs/policy.md).
    pub fn evaluate(&self, input: &str) -> Result<RegoResult, Error> {
        let fail = |m: String| invalid(&self.name, m);
        let mut e = engine(&self.source, &self.name, self.v0).map_err(fail)?;
        e.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            limit: self.time_limit,
            check_interval: NonZeroU32::MIN,
        });
        e.set_input(
            regorus::Value::from_json_str(input)
                .map_err(|e| fail(format!("the policy input is not JSON: {e}")))?,
        );
        let results = e.eval_query(PACKAGE.to_string(), false).map_err(|err| {
            let text = err.to_string();
            if text.to_ascii_lowercase().contains("time") && text.contains("limit") {
                fail(format!(
                    "evaluation ran longer than {} ms and was stopped: {text}",
                    self.time_limit.as_millis()
                ))
            } else {
                fail(format!("evaluation failed: {text}"))
            }
        })?;
        let Some(v) = results
            .result
            .first()
            .and_then(|r| r.expressions.first())
            .map(|x| &x.value)
        else {
            return Ok(RegoResult::default());
        };
        let json = serde_json::to_value(v).map_err(|e| fail(e.to_string()))?;
        let field = |k: &str| -> Vec<serde_json::Value> {
            match json.get(k) {
                Some(serde_json::Value::Array(a)) => a.clone(),
                Some(serde_json::Value::Null) | None => Vec::new(),
                Some(other) => vec![other.clone()],
            }
        };
        let message = |v: serde_json::Value| -> Message {
            match v {
                serde_json::Value::String(s) => Message {
                    msg: s,
                    ..Message::default()
                },
                serde_json::Value::Object(o) => {
                    let s = |k: &str| o.get(k).and_then(|x| x.as_str()).map(str::to_string);
                    Message {
                        msg: s("msg")
                            .unwrap_or_else(|| serde_json::Value::Object(o.clone()).to_string()),
                        vulnerability_id: s("vulnerabilityId"),
                        package: s("package"),
                    }
                }
                other => Message {
                    msg: other.to_string(),
                    ..Message::default()
                },
            }
        };
        let mut out = RegoResult {
            deny: field("deny").into_iter().map(message).collect(),
            warn: field("warn").into_iter().map(message).collect(),
            ignore: field("ignore")
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect(),
        };
        let limit = 100_000;
        if out.deny.len() + out.warn.len() + out.ignore.len() > limit {
            return Err(fail(format!(
                "the policy produced more than {limit} messages and keys"
            )));
        }
        out.deny.sort_by(|a, b| a.msg.cmp(&b.msg));
        out.warn.sort_by(|a, b| a.msg.cmp(&b.msg));
        out.ignore.sort();
        Ok(out)
    }
}

/// How Rego policies are run.
#[derive(Debug, Clone, Default)]
pub enum Runner {
    /// In this process. A policy that allocates without bound (`numbers.range(1, 1e12)`)
    /// can take the process down with it: for trusted policies and tests.
    #[default]
    InProcess,
    /// In a child process, `program args…`, which calls [`serve_sandbox`]: its address space
    /// is limited to `memory_limit` bytes and it is killed when it runs past the time limit.
    Sandbox {
        /// The executable (usually this one).
        program: std::path::PathBuf,
        /// Its arguments that select the sandbox entry point.
        args: Vec<String>,
        /// Address-space limit for the child, in bytes.
        memory_limit: u64,
    },
}

/// A sandbox job: this as one JSON line, then the input document's bytes as they are (not
/// escaped into a JSON string: that would cost more than the evaluation).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Job {
    name: String,
    source: String,
    v0: bool,
    time_limit_ms: u64,
    memory_limit: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Reply {
    result: Option<RegoResult>,
    error: Option<String>,
}

impl RegoPolicy {
    /// Evaluates with `runner`.
    pub fn evaluate_with(&self, input: &str, runner: &Runner) -> Result<RegoResult, Error> {
        match runner {
            Runner::InProcess => self.evaluate(input),
            Runner::Sandbox {
                program,
                args,
                memory_limit,
            } => self.evaluate_in_child(input, program, args, *memory_limit),
        }
    }

    fn evaluate_in_child(
        &self,
        input: &str,
        program: &std::path::Path,
        args: &[String],
        memory_limit: u64,
    ) -> Result<RegoResult, Error> {
        use std::io::{Read as _, Write as _};
        let fail = |m: String| invalid(&self.name, m);
        let mut job = serde_json::to_vec(&Job {
            name: self.name.clone(),
            source: self.source.clone(),
            v0: self.v0,
            time_limit_ms: self.time_limit.as_millis() as u64,
            memory_limit,
        })
        .map_err(|e| fail(e.to_string()))?;
        job.push(b'\n');
        job.extend_from_slice(input.as_bytes());
        let mut child = std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| {
                fail(format!(
                    "cannot start the policy sandbox {}: {e}",
                    program.display()
                ))
            })?;
        let mut stdin = child.stdin.take();
        let writer = std::thread::spawn(move || {
            if let Some(w) = stdin.as_mut() {
                let _ = w.write_all(&job);
            }
        });
        let mut stdout = child.stdout.take();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(r) = stdout.as_mut() {
                let _ = r.take(64 << 20).read_to_end(&mut out);
            }
            out
        });
        // the child's own timer stops Rego; this one stops a child stuck in a builtin
        let deadline = std::time::Instant::now() + self.time_limit + Duration::from_secs(2);
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if std::time::Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = writer.join();
                    let _ = reader.join();
                    return Err(fail(format!(
                        "evaluation ran longer than {} ms and was stopped",
                        self.time_limit.as_millis()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(1)),
                Err(e) => return Err(fail(format!("the policy sandbox failed: {e}"))),
            }
        };
        let _ = writer.join();
        let out = reader.join().unwrap_or_default();
        if !status.success() {
            return Err(fail(format!(
                "evaluation was stopped ({status}): the policy needed more than {} MiB of memory or crashed",
                memory_limit >> 20
            )));
        }
        let reply: Reply = serde_json::from_slice(&out)
            .map_err(|e| fail(format!("the policy sandbox answered nonsense: {e}")))?;
        match (reply.result, reply.error) {
            (Some(r), _) => Ok(r),
            (None, Some(e)) => Err(fail(e)),
            (None, None) => Err(fail("the policy sandbox answered nothing".into())),
        }
    }
}

/// The sandbox's side (see [`Runner::Sandbox`]): reads one job from standard input, limits
/// this process's address space, evaluates, and writes the answer to standard output.
/// Returns the process exit code.
pub fn serve_sandbox() -> i32 {
    use std::io::{Read as _, Write as _};
    let mut job = Vec::new();
    if std::io::stdin()
        .take(1 << 30)
        .read_to_end(&mut job)
        .is_err()
    {
        return 2;
    }
    let (head, input) = match job.iter().position(|&b| b == b'\n') {
        Some(i) => (&job[..i], &job[i + 1..]),
        None => (&job[..], &[][..]),
    };
    let reply = match (
        serde_json::from_slice::<Job>(head),
        std::str::from_utf8(input),
    ) {
        (Err(e), _) => Reply {
            result: None,
            error: Some(format!("bad sandbox job: {e}")),
        },
        (_, Err(e)) => Reply {
            result: None,
            error: Some(format!("bad sandbox input: {e}")),
        },
        (Ok(j), Ok(input)) => {
            let _ = rustix::process::setrlimit(
                rustix::process::Resource::As,
                rustix::process::Rlimit {
                    current: Some(j.memory_limit),
                    maximum: Some(j.memory_limit),
                },
            );
            let p = RegoPolicy {
                name: j.name,
                source: j.source,
                v0: j.v0,
                time_limit: Duration::from_millis(j.time_limit_ms),
            };
            match p.evaluate(input) {
                Ok(r) => Reply {
                    result: Some(r),
                    error: None,
                },
                Err(e) => Reply {
                    result: None,
                    // the parent names the file itself
                    error: Some(
                        e.to_string()
                            .strip_prefix(&format!("{}: ", p.name))
                            .map(str::to_string)
                            .unwrap_or_else(|| e.to_string()),
                    ),
                },
            }
        }
    };
    let out = serde_json::to_vec(&reply).unwrap_or_default();
    let mut w = std::io::stdout().lock();
    if w.write_all(&out).and_then(|()| w.flush()).is_err() {
        return 2;
    }
    0
}
