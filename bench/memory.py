#!/usr/bin/env python3
"""Core's peak memory under large SBOMs: eight ~54 MB CycloneDX documents (110,000 PyPI
components each, every one distinct so no result is reused) sent at once with `?wait=true`,
with the scan memory budget (`--scan-memory-mib`, default 1024) and with it out of the way
(`--scan-memory-mib 1000000`), then one alone. Reports the server's peak RSS (VmHWM) and the
wall time of each case. Usage: bench/memory.py STELLA OUT_DIR."""
import json, os, subprocess, sys, tempfile, threading, time, urllib.request

stella, out = sys.argv[1], sys.argv[2]
n_components = int(os.environ.get("COMPONENTS", "110000"))
concurrent = int(os.environ.get("CONCURRENT", "8"))
os.makedirs(out, exist_ok=True)


def sbom(tag):
    comps = [
        {
            "type": "library",
            "bom-ref": f"c{tag}-{i}",
            "name": f"package-{tag}-{i}",
            "version": f"1.{i % 97}.{i % 13}",
            "purl": f"pkg:pypi/package-{tag}-{i}@1.{i % 97}.{i % 13}",
            "description": "a synthetic component of the memory benchmark, long enough to weigh what real ones do",
            "licenses": [{"license": {"id": "MIT"}}],
            "properties": [{"name": "syft:location:0:path", "value": f"/usr/lib/python3/dist-packages/package_{i}"}],
        }
        for i in range(n_components)
    ]
    return json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                       "components": comps}).encode()


def serve(budget_mib):
    data = tempfile.mkdtemp(prefix="stella-mem-")
    p = subprocess.Popen([stella, "serve", "--listen", "127.0.0.1:0", "--data", data,
                          "--max-body-mib", "128", "--request-timeout-secs", "600",
                          "--scan-memory-mib", str(budget_mib)],
                         stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if "listening on " in line:
            url = line.split("listening on ")[1].split()[0]
            break
    threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
    secret = open(os.path.join(data, "admin.secret")).read().strip()
    req = urllib.request.Request(f"{url}/connect/token", data=f"grant_type=client_credentials&client_id=admin&client_secret={secret}".encode())
    token = json.load(urllib.request.urlopen(req))["access_token"]
    return p, url, token


def hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024


def case(budget_mib, bodies):
    p, url, token = serve(budget_mib)
    errors = []

    def one(b):
        req = urllib.request.Request(f"{url}/api/v1/scan?wait=true", data=b, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=600).read()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(str(e))
    base = hwm(p.pid)
    start = time.time()
    threads = [threading.Thread(target=one, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - start
    peak = hwm(p.pid)
    p.terminate()
    p.wait()
    return {"budget_mib": budget_mib, "scans": len(bodies), "errors": errors[:3],
            "idle_rss_mb": round(base, 1), "peak_rss_mb": round(peak, 1), "wall_s": round(wall, 2)}


bodies = [sbom(t) for t in range(concurrent)]
size = len(bodies[0]) / 1e6
results = {"sbom_mb": round(size, 1), "components": n_components}
results["one_alone"] = case(1024, bodies[:1])
results["eight_with_budget"] = case(1024, bodies)
results["eight_without_budget"] = case(1_000_000, bodies)
results["targets"] = "memory bounded by the budget, not the number of scans"
print(json.dumps(results))
