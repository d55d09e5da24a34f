"""`stella db update` of every shared advisory feed served over HTTP on loopback: the first
update (download and build), then updates of unchanged feeds (every file answers 304 and the
DB is kept), and one where a single feed changed (rebuild). Median of several runs each.

usage: update.py STELLA OUT_DIR
"""

import glob
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

shared = os.environ.get("STELLA_SHARED_DATA", "../shared/data")
adv = os.path.join(shared, "advisories")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    stella, out = sys.argv[1], sys.argv[2]
    if not os.path.isdir(adv):
        print(json.dumps({"bench": "update", "skipped": f"{adv} absent: set STELLA_SHARED_DATA"}))
        return
    work = tempfile.mkdtemp(prefix="stella-bench-update-")
    site = os.path.join(work, "site")
    sources = []

    def add(path, fmt, name):
        dst = os.path.join(site, name)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy(path, dst)
        sources.append({"name": name.replace("/", "-"), "url": None, "format": fmt, "path": name})

    for z in sorted(glob.glob(os.path.join(adv, "osv", "*.zip"))):
        add(z, "osv", "osv/" + os.path.basename(z))
    for j in sorted(glob.glob(os.path.join(adv, "alpine-secdb", "v*", "*.json"))):
        rel = os.path.relpath(j, os.path.join(adv, "alpine-secdb"))
        add(j, "alpine-secdb", "alpine/" + rel)
    for k in ("DSA", "DLA", "DTSA"):
        add(os.path.join(adv, "debian-tracker", k, "list"), "debian-tracker", f"debian/{k}/list")
    add(os.path.join(adv, "kev", "known_exploited_vulnerabilities.json"), "kev", "kev/kev.json")
    add(os.path.join(adv, "epss", "epss-sample.csv"), "epss", "epss/epss.csv")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", site],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        for s in sources:
            s["url"] = f"http://127.0.0.1:{port}/{s.pop('path')}"
        cfg = os.path.join(work, "feeds.json")
        with open(cfg, "w") as f:
            json.dump({"sources": sources}, f)

        def update(db):
            t = time.perf_counter()
            r = subprocess.run(
                [stella, "db", "update", "--db", db, "--config", cfg, "--attempts", "1"],
                capture_output=True,
                text=True,
            )
            took = time.perf_counter() - t
            if r.returncode != 0:
                sys.exit(f"db update failed ({r.returncode}): {r.stderr[-2000:]}")
            return took, r.stderr

        first, unchanged, changed = [], [], []
        for i in range(3):
            db = os.path.join(work, f"v{i}.db")
            took, _ = update(db)
            first.append(took)
            for _ in range(3):
                took, err = update(db)
                assert "is up to date" in err, err
                unchanged.append(took)
            # one feed changes upstream
            kev = os.path.join(site, "kev", "kev.json")
            os.utime(kev, (time.time() + 5 + i, time.time() + 5 + i))
            took, err = update(db)
            assert "wrote" in err, err
            changed.append(took)
        figures = [
            {"bench": "update", "case": "first (fetch and build)", "sources": len(sources), "median_s": round(statistics.median(first), 3)},
            {"bench": "update", "case": "unchanged (all 304)", "sources": len(sources), "median_s": round(statistics.median(unchanged), 3), "target_s": 2.0},
            {"bench": "update", "case": "one feed changed (rebuild)", "sources": len(sources), "median_s": round(statistics.median(changed), 3)},
        ]
        for fig in figures:
            print(json.dumps(fig))
    finally:
        server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
