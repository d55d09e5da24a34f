#!/usr/bin/env python3
"""Load on `stella serve` from a second process (oha): SBOM-first scans of a 500-component
CycloneDX SBOM at a fixed rate, the latency percentiles oha measures and the server's peak
RSS. Usage: bench/core.py STELLA OUT_DIR (run `bench/run scan` first: it builds the DB and the
1,000-component SBOM this one takes the first 500 components of)."""
import json, os, shutil, subprocess, sys, tempfile

stella, out = sys.argv[1], sys.argv[2]
rate = int(os.environ.get("RATE", "500"))
seconds = int(os.environ.get("SECONDS_", "10"))
db, big = os.path.join(out, "all-advisories.db"), os.path.join(out, "sbom-1000.cdx.json")
if not (os.path.exists(db) and os.path.exists(big)):
    sys.exit("run `bench/run scan` first")
oha = shutil.which("oha") or os.path.expanduser("~/.cargo/bin/oha")
if not os.path.exists(oha):
    sys.exit("oha is missing: cargo install oha --locked")
with open(big) as f:
    doc = json.load(f)
doc["components"] = doc["components"][:500]
sbom = os.path.join(out, "sbom-500.cdx.json")
with open(sbom, "w") as f:
    json.dump(doc, f)
data = tempfile.mkdtemp(prefix="stella-core-bench-")
# a client whose quota the load cannot exhaust (the Free tier's 333 would turn it into 429s)
add = subprocess.run([stella, "token", "add-client", "bench", "--max-scans-per-day", "100000000",
                      "--data", data], check=True, capture_output=True, text=True)
secret = next(l.split("=", 1)[1] for l in add.stdout.splitlines() if l.startswith("client_secret="))
srv = subprocess.Popen([stella, "serve", "--listen", "127.0.0.1:0", "--data", data, "--db", db],
                       stderr=subprocess.PIPE, text=True)
try:
    while True:
        line = srv.stderr.readline()
        if not line:
            sys.exit("the server did not start")
        if "listening on " in line:
            break
    url = line.split("listening on ")[1].split()[0]
    token = subprocess.run([stella, "token", "get", "--server", url, "--client-id", "bench",
                            "--client-secret", secret], check=True, capture_output=True,
                           text=True).stdout.strip()
    auth = ["-H", f"Authorization: Bearer {token}"]
    target = f"{url}/api/v1/scan?wait=true&image=bench/app:1"
    # warm up (page cache, allocator), then the measured run
    subprocess.run([oha, "-n", "50", "-m", "POST", "-D", sbom, "-T", "application/json", *auth,
                    "--no-tui", target], check=True, capture_output=True)
    p = subprocess.run([oha, "-z", f"{seconds}s", "-q", str(rate), "-m", "POST", "-D", sbom,
                        "-T", "application/json", *auth, "--no-tui", "--output-format", "json",
                        target],
                       check=True, capture_output=True, text=True)
    r = json.loads(p.stdout)
    with open(f"/proc/{srv.pid}/status") as f:
        hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))
    pct = r.get("latencyPercentiles", {})
    codes = r.get("statusCodeDistribution", {})
    print(json.dumps({
        "bench": "core_scan_500", "rate_per_s": rate, "seconds": seconds,
        "requests_per_s": round(r["summary"]["requestsPerSec"], 1),
        "success_rate": r["summary"]["successRate"],
        "status_codes": codes,
        "p50_ms": round(pct.get("p50", 0) * 1e3, 2), "p95_ms": round(pct.get("p95", 0) * 1e3, 2),
        "p99_ms": round(pct.get("p99", 0) * 1e3, 2),
        "server_peak_rss_mb": round(hwm / 1024, 1),
        "targets": "p95<=20ms at 500 req/s, <=300 MB RSS"}), flush=True)
finally:
    srv.terminate()
    srv.wait()
    shutil.rmtree(data, ignore_errors=True)
