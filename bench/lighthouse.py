"""Score a built site's first load with Lighthouse: the index and one agent page.

    python bench/lighthouse.py [--agents DIR] [--lighthouse PATH]

Builds the catalog (default: the demo) into a temporary folder, serves it on 127.0.0.1 (gzipped,
as GitHub Pages serves it) and runs
Lighthouse (default mobile settings, Debian's Chromium) on the index and on the first agent
page, printing each category's score and the layout shift. Lighthouse needs Node; install it
beside the checkout with `npm i -E lighthouse@12.2.3` (later releases want Node 22) and pass
`--lighthouse node_modules/.bin/lighthouse`, or have `lighthouse` on PATH.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from generator.config import load_config
from generator.errors import Report
from generator.pipeline.build import build

REPO = Path(__file__).resolve().parent.parent
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


class _Compressing(http.server.SimpleHTTPRequestHandler):
    """Serve files gzipped when the browser asks, as GitHub Pages does (Lighthouse counts it)."""

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if "gzip" not in self.headers.get("Accept-Encoding", "") or not path.is_file():
            super().do_GET()
            return
        body = gzip.compress(path.read_bytes())
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def score(lighthouse: str, url: str, report: Path) -> dict[str, object]:
    """Run Lighthouse on one address; return its scores (0-100) and cumulative layout shift."""
    subprocess.run([lighthouse, url, "--quiet", "--output=json", f"--output-path={report}",
                    f"--only-categories={','.join(CATEGORIES)}",
                    "--chrome-flags=--headless=new --no-sandbox --disable-gpu"],
                   check=True, env={**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")})
    result = json.loads(report.read_text(encoding="utf-8"))
    scores: dict[str, object] = {name: round(result["categories"][name]["score"] * 100) for name in CATEGORIES}
    scores["layout shift"] = result["audits"]["cumulative-layout-shift"]["displayValue"]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=Path, default=REPO / "agents", help="the catalog to build (default: the demo)")
    parser.add_argument("--lighthouse", default=shutil.which("lighthouse") or "lighthouse")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        site = Path(folder) / "site"
        built = build(load_config(args.agents.resolve(), site), Report(), use_cache=False)
        agent = built.catalog.agents[0]
        handler = functools.partial(_Compressing, directory=str(site))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        try:
            for page in ("index.html", agent.url):
                print(page, score(args.lighthouse, base + page, Path(folder) / "report.json"), flush=True)
        finally:
            server.shutdown()


if __name__ == "__main__":
    main()
