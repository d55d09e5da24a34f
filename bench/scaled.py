#!/usr/bin/env python3
"""The embedded store against Redis + PostgreSQL on this machine: the same `stella serve`, the
same load from a second process (oha: distinct 500-component SBOMs, `?wait=true`), first on
the embedded store, then with `--redis --postgres` (redis-server with its append-only file,
PostgreSQL with its default durability: both fsync as the embedded store does).

Two loads per setup: closed-loop (CONCURRENCY requests in flight: the most each setup
serves) and open-loop at RATE req/s (latency at a fixed offered load, corrected for
coordinated omission). Usage: bench/scaled.py STELLA OUT_DIR (after `bench/run scan`)."""
import glob, json, os, shutil, socket, subprocess, sys, tempfile, time, urllib.request

stella, out = sys.argv[1], sys.argv[2]
seconds = int(os.environ.get("SECONDS_", "10"))
concurrency = int(os.environ.get("CONCURRENCY", "8"))
rate = int(os.environ.get("RATE", "300"))
db, big = os.path.join(out, "all-advisories.db"), os.path.join(out, "sbom-1000.cdx.json")
if not (os.path.exists(db) and os.path.exists(big)):
    sys.exit("run `bench/run scan` first")
oha = shutil.which("oha") or os.path.expanduser("~/.cargo/bin/oha")
pg_bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
if not shutil.which("redis-server") or not pg_bin:
    sys.exit("needs redis-server and postgresql (Debian packages)")
pg_bin = pg_bin[-1]

with open(big) as f:
    doc = json.load(f)
comps = doc["components"]
lines = os.path.join(out, "sbom-500-distinct.jsonl")
with open(lines, "w") as f:
    for i in range(500):
        d = dict(doc)
        d["components"] = (comps + comps)[i:i + 500]
        f.write(json.dumps(d, separators=(",", ":")) + "\n")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port):
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pids):
    return sum(cpu_seconds(p) for p in pids)


def children(pid):
    """pid and every descendant (PostgreSQL forks a backend per connection)."""
    out = [pid]
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid == pid:
                out += children(int(p))
    return out


def post(url, body, headers):
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def run_setup(name, extra, servers_pids, fewer=False):
    data = tempfile.mkdtemp(prefix=f"stella-{name}-")
    log_path = os.path.join(data, "serve.log")
    log = open(log_path, "w")
    # every request new to Core: identical ones would be answered from the result cache (and,
    # scaled out, from the one Redis shares between replicas)
    srv = subprocess.Popen([stella, "serve", "--listen", "127.0.0.1:0", "--data", data, "--db", db,
                            "--result-cache-mib", "0", *extra], stderr=log, text=True, env={**os.environ, "STELLA_LOG": "warn"})
    try:
        for _ in range(600):
            with open(log_path) as f:
                line = next((l for l in f if "listening on " in l), None)
            if line or srv.poll() is not None:
                break
            time.sleep(0.05)
        if not line:
            sys.exit(open(log_path).read())
        url = line.split("listening on ")[1].split()[0]
        secret = open(os.path.join(data, "admin.secret")).read().strip()
        form = f"grant_type=client_credentials&client_id=admin&client_secret={secret}".encode()
        admin = post(f"{url}/connect/token", form,
                     {"Content-Type": "application/x-www-form-urlencoded"})["access_token"]
        c = post(f"{url}/api/v1/principals", json.dumps(
            {"kind": "client", "name": "bench", "scopes": ["scan"],
             "maxScansPerDay": 100000000}).encode(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {admin}"})
        form = f"grant_type=client_credentials&client_id=bench&client_secret={c['clientSecret']}"
        token = post(f"{url}/connect/token", form.encode(),
                     {"Content-Type": "application/x-www-form-urlencoded"})["access_token"]
        auth = ["-H", f"Authorization: Bearer {token}"]
        target = f"{url}/api/v1/scan?wait=true&image=bench/app:1"
        subprocess.run([oha, "-n", "300", "-m", "POST", "-Z", lines, "-T", "application/json",
                        *auth, "--no-tui", target], check=True, capture_output=True)
        results = []
        loads = [("closed", ["-c", str(concurrency)]),
                 ("open", ["-q", str(rate), "--latency-correction"])]
        if fewer:
            # fewer in flight: the throughput this setup keeps at a lower p95
            loads.append(("closed_fewer", ["-c", str(concurrency * 3 // 4)]))
        for load, args in loads:
            pids = [srv.pid] + [q for p in servers_pids for q in children(p)]
            cpu0 = tree_cpu(pids)
            p = subprocess.run([oha, "-z", f"{seconds}s", *args, "-m", "POST", "-Z", lines,
                                "-T", "application/json", *auth, "--no-tui",
                                "--output-format", "json", target],
                               check=True, capture_output=True, text=True)
            pids = [srv.pid] + [q for p in servers_pids for q in children(p)]
            cpu = tree_cpu(pids) - cpu0
            r = json.loads(p.stdout)
            pct = r.get("latencyPercentiles", {})
            n = max(1, sum(r.get("statusCodeDistribution", {}).values()))
            results.append({
                "bench": f"core_scan_500_distinct_{name}_{load}",
                "load": " ".join(args[:2]) if load != "open" else f"{rate} req/s offered",
                "seconds": seconds,
                "requests_per_s": round(r["summary"]["requestsPerSec"], 1),
                "status_codes": r.get("statusCodeDistribution", {}),
                "p50_ms": round(pct.get("p50", 0) * 1e3, 2),
                "p95_ms": round(pct.get("p95", 0) * 1e3, 2),
                "p99_ms": round(pct.get("p99", 0) * 1e3, 2),
                # Core plus, when scaled, Redis and PostgreSQL
                "cpu_ms_per_request": round(cpu * 1e3 / n, 3)})
        return results
    finally:
        srv.terminate()
        srv.wait()
        shutil.rmtree(data, ignore_errors=True)


work = tempfile.mkdtemp(prefix="stella-scaled-bench-")
procs = []
try:
    rport, pport = free_port(), free_port()
    procs.append(subprocess.Popen(
        ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--dir", work,
         "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
        stdout=subprocess.DEVNULL))
    pgdir = os.path.join(work, "pg")
    os.makedirs(pgdir)
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_pg:
        subprocess.run(["chown", "-R", "postgres:", work], check=True)
    subprocess.run([*as_pg, f"{pg_bin}/initdb", "-D", f"{pgdir}/data", "-U", "stella",
                    "--auth=trust"], check=True, capture_output=True)
    procs.append(subprocess.Popen(
        [*as_pg, f"{pg_bin}/postgres", "-D", f"{pgdir}/data", "-p", str(pport),
         "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={pgdir}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_port(rport)
    wait_port(pport)
    time.sleep(1)
    embedded = run_setup("embedded", [], [])
    scaled = run_setup("scaled", ["--redis", f"redis://127.0.0.1:{rport}", "--postgres",
                                  f"postgres://stella@127.0.0.1:{pport}/postgres"],
                       [p.pid for p in procs], fewer=True)
    for r in embedded + scaled:
        print(json.dumps(r), flush=True)
    e = embedded[0]
    ratio = scaled[0]["requests_per_s"] / max(1e-9, e["requests_per_s"])
    # the same p95: the scaled run with the most throughput whose p95 is within the embedded
    # one's
    same = [r for r in scaled if "closed" in r["bench"] and r["p95_ms"] <= e["p95_ms"]]
    best = max(same, key=lambda r: r["requests_per_s"]) if same else None
    print(json.dumps({
        "bench": "scaled_vs_embedded",
        "throughput_ratio_same_concurrency": round(ratio, 3),
        "throughput_ratio_at_embedded_p95": round(best["requests_per_s"] / e["requests_per_s"], 3)
        if best else None,
        "embedded_p95_ms": e["p95_ms"],
        "target": ">= 0.6 of the embedded throughput at the same p95"}), flush=True)
finally:
    pidfile = os.path.join(work, "pg", "data", "postmaster.pid")
    if os.path.exists(pidfile):
        # the postmaster itself, not runuser in front of it
        subprocess.run(["kill", "-INT", open(pidfile).readline().strip()])
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
    shutil.rmtree(work, ignore_errors=True)
