#!/usr/bin/env python3
"""The nightly re-scan (#11): N stored SBOMs of 300 components each (N images, default
10,000), re-scanned by Core's `rescan` job against the DB of all shared advisories; prints the
run's duration and the server's CPU. Usage: bench/rescan.py STELLA OUT_DIR (run
`bench/run scan` first: it builds the DB and the 1,000-component SBOM the SBOMs are cut from)."""
import http.client, json, os, shutil, subprocess, sys, tempfile, threading, time

stella, out = sys.argv[1], sys.argv[2]
n = int(os.environ.get("IMAGES", "10000"))
db, big = os.path.join(out, "all-advisories.db"), os.path.join(out, "sbom-1000.cdx.json")
if not (os.path.exists(db) and os.path.exists(big)):
    sys.exit("run `bench/run scan` first")
doc = json.load(open(big))
comps = doc["components"]


def body(i):
    d = dict(doc)
    d["components"] = (comps + comps)[i % 700:i % 700 + 300]
    return json.dumps(d, separators=(",", ":")).encode()


def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        x = f.read().rsplit(")", 1)[1].split()
    return (int(x[11]) + int(x[12])) / os.sysconf("SC_CLK_TCK")


data = tempfile.mkdtemp(prefix="stella-rescan-bench-")
add = subprocess.run([stella, "token", "add-client", "bench", "--max-scans-per-day", "100000000",
                      "--scope", "admin", "--data", data], check=True, capture_output=True, text=True)
secret = next(l.split("=", 1)[1] for l in add.stdout.splitlines() if l.startswith("client_secret="))
log = open(os.path.join(data, "serve.log"), "w")
srv = subprocess.Popen([stella, "serve", "--listen", "127.0.0.1:0", "--data", data, "--db", db,
                        "--feeds-cron", "off"], stderr=log, text=True)
try:
    for _ in range(600):
        line = next((l for l in open(os.path.join(data, "serve.log")) if "listening on " in l), None)
        if line or srv.poll() is not None:
            break
        time.sleep(0.05)
    url = line.split("listening on ")[1].split()[0]
    host, port = url.split("//")[1].split(":")
    token = subprocess.run([stella, "token", "get", "--server", url, "--client-id", "bench",
                            "--client-secret", secret], check=True, capture_output=True,
                           text=True).stdout.strip()
    hdr = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    # store N scans (one image each), four connections at once
    t0 = time.time()
    nxt = iter(range(n))
    lock = threading.Lock()

    def load():
        c = http.client.HTTPConnection(host, int(port))
        while True:
            with lock:
                i = next(nxt, None)
            if i is None:
                return
            c.request("POST", f"/api/v1/scan?wait=true&image=bench/app-{i:05d}:1", body(i), hdr)
            r = c.getresponse()
            r.read()
            assert r.status == 200, r.status
    ts = [threading.Thread(target=load) for _ in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    loaded = time.time() - t0

    def get(path):
        c = http.client.HTTPConnection(host, int(port))
        c.request("GET", path, headers=hdr)
        return json.loads(c.getresponse().read())
    c = http.client.HTTPConnection(host, int(port))
    cpu0 = cpu(srv.pid)
    c.request("POST", "/api/v1/jobs/rescan/run", headers=hdr)
    assert c.getresponse().status == 202
    while True:
        runs = get("/api/v1/jobs/runs?job=rescan&limit=1")["runs"]
        if runs and runs[0]["outcome"] != "running":
            break
        time.sleep(0.2)
    r = runs[0]
    with open(f"/proc/{srv.pid}/status") as f:
        hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))
    print(json.dumps({
        "bench": "rescan", "images": n, "components_per_sbom": 300, "outcome": r["outcome"],
        "rescanned": r["detail"].get("rescanned"), "duration_s": round(r["durationMs"] / 1e3, 2),
        "server_cpu_s": round(cpu(srv.pid) - cpu0, 1), "store_load_s": round(loaded, 1),
        "server_peak_rss_mb": round(hwm / 1024, 1), "target": "10,000 x 300 components <= 60 s"}))
finally:
    srv.terminate()
    srv.wait()
    shutil.rmtree(data, ignore_errors=True)
