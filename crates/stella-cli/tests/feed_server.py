"""A local stand-in for the upstream feed servers, in their URL layouts, for the feed tests.

Static files (osv.dev's archives, CISA's KEV, FIRST's EPSS) are served from ROOT by Python's
http.server (Last-Modified, If-Modified-Since -> 304). NVD's CVE API 2.0 is answered at
/nvd/rest/json/cves/2.0 from the `cve` objects in NVD_DIR, as NVD answers: pages of at most
--max-page records (NVD: 2,000), `lastModStartDate`/`lastModEndDate` filtering (both or
neither, at most 120 days apart), `totalResults`. Every NVD request is logged as one JSON
line (query, apiKey header). A file `nvd-fail-once` in ROOT makes the next NVD request
answer 503 (as NVD does when its rate limit is overrun), then it is removed.

usage: feed_server.py PORT ROOT NVD_DIR LOG [--max-page N]
"""

import datetime
import functools
import glob
import http.server
import json
import os
import sys
import urllib.parse


def parse_time(s):
    s = s.replace("Z", "+00:00")
    t = datetime.datetime.fromisoformat(s)
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/nvd/rest/json/cves/2.0":
            return super().do_GET()
        q = dict(urllib.parse.parse_qsl(url.query))
        with open(self.server.log, "a") as f:
            f.write(json.dumps({"query": q, "apiKey": self.headers.get("apiKey")}) + "\n")
        fail = os.path.join(self.server.root, "nvd-fail-once")
        if os.path.exists(fail):
            os.remove(fail)
            return self.answer(503, {"message": "rate limit"})
        per = int(q.get("resultsPerPage", "2000"))
        start = int(q.get("startIndex", "0"))
        if per > 2000 or per < 1 or start < 0:
            return self.answer(404, {"message": "bad paging"})
        items = []
        for p in sorted(glob.glob(os.path.join(self.server.nvd, "*.json"))):
            with open(p) as f:
                items.append(json.load(f))
        lo, hi = q.get("lastModStartDate"), q.get("lastModEndDate")
        if (lo is None) != (hi is None):
            return self.answer(404, {"message": "both lastMod dates or neither"})
        if lo is not None:
            lo, hi = parse_time(lo), parse_time(hi)
            if hi - lo > datetime.timedelta(days=120):
                return self.answer(404, {"message": "range over 120 days"})
            items = [i for i in items if lo <= parse_time(i["lastModified"]) <= hi]
        page = items[start : start + min(per, self.server.max_page)]
        self.answer(
            200,
            {
                "resultsPerPage": len(page),
                "startIndex": start,
                "totalResults": len(items),
                "format": "NVD_CVE",
                "version": "2.0",
                "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000"),
                "vulnerabilities": [{"cve": i} for i in page],
            },
        )

    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    port, root, nvd, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    max_page = 2000
    if "--max-page" in sys.argv:
        max_page = int(sys.argv[sys.argv.index("--max-page") + 1])
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(Handler, directory=root)
    )
    server.root, server.nvd, server.log, server.max_page = root, nvd, log, max_page
    server.serve_forever()


if __name__ == "__main__":
    main()
