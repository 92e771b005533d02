"""Measure save-to-served latency of `agentpages serve` against `mkdocs serve` on the same files.

    python bench/serve_latency.py [--sizes 1000 5000] [--edits 5] [--no-mkdocs]

For each size it generates a catalog by cycling the demo agents and, when present,
../shared/corpora, starts the server, then edits one agent file several times: each edit
adds a unique marker to a heading, and the time runs from the write until the page served
over HTTP contains it. MkDocs (when installed) serves the same files as docs pages, timed
the same way. Prints the median of each and the ratio.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.catalogs import make_catalog  # noqa: E402

POLL_SECONDS = 0.002


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.read()
    except OSError:
        return b""


def wait_until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the server did not answer in time")
        time.sleep(0.05)


def time_edits(path: Path, url: str, edits: int) -> list[float]:
    """Edit `path` `edits` times; return seconds from each write until `url` shows it."""
    original = path.read_text(encoding="utf-8")
    timings = []
    for number in range(edits):
        marker = f"Marker{number}x{time.time_ns()}"
        edited = re.sub(r"(?m)^## ", f"## {marker} ", original, count=1)
        path.write_text(edited, encoding="utf-8")
        started = time.perf_counter()
        while marker.encode() not in fetch(url):
            time.sleep(POLL_SECONDS)
            if time.perf_counter() - started > 300:
                raise TimeoutError(url)
        timings.append(time.perf_counter() - started)
        time.sleep(1.5)  # let the server settle (MkDocs rebuilds twice on some saves)
    path.write_text(original, encoding="utf-8")
    return timings


def measure_agentpages(catalog: Path, target: Path, edits: int) -> list[float]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "generator", "serve", "--agents", str(catalog), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/agents/{target.stem}/index.html"
        wait_until(lambda: fetch(url), 600)
        time.sleep(2)
        return time_edits(target, url, edits)
    finally:
        server.terminate()
        server.wait()


def measure_mkdocs(catalog: Path, target: Path, edits: int) -> list[float] | None:
    if shutil.which("mkdocs") is None:
        return None
    project = catalog.parent / "mkdocs-project"
    shutil.copytree(catalog, project / "docs")
    (project / "mkdocs.yml").write_text("site_name: Bench\n", encoding="utf-8")
    port = free_port()
    server = subprocess.Popen(
        ["mkdocs", "serve", "--dev-addr", f"127.0.0.1:{port}"],
        cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        rel = target.relative_to(catalog).with_suffix("")
        url = f"http://127.0.0.1:{port}/{rel.as_posix()}/"
        wait_until(lambda: fetch(url), 900)
        time.sleep(2)
        return time_edits(project / "docs" / target.relative_to(catalog), url, edits)
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--no-mkdocs", action="store_true")
    args = parser.parse_args()
    print(f"{'agents':>7} {'agentpages serve':>17} {'mkdocs serve':>13} {'ratio':>7}")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            catalog = Path(folder) / "agents"
            paths = make_catalog(catalog, size)
            target = paths[len(paths) // 2]
            ours = statistics.median(measure_agentpages(catalog, target, args.edits))
            print(f"{size:>7} agentpages serve: {ours * 1000:.0f} ms (median of {args.edits})", flush=True)
            theirs = None if args.no_mkdocs or size > 1000 else measure_mkdocs(catalog, target, args.edits)
            theirs_median = statistics.median(theirs) if theirs else None
            ratio = f"{ours / theirs_median:7.3f}" if theirs_median else "      -"
            mkdocs_text = f"{theirs_median * 1000:11.0f} ms" if theirs_median else "            -"
            print(f"{size:>7} {ours * 1000:14.0f} ms {mkdocs_text} {ratio}", flush=True)


if __name__ == "__main__":
    main()
