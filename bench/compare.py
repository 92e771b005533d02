"""Time two checkouts of agentpages against each other, alternating, on the same catalogs.

    python bench/compare.py BEFORE_DIR AFTER_DIR [--sizes 1000 5000] [--runs 5] [--hugo] [--bodies mix|seed]
                            [--kinds cold warm edit describe]

Each checkout runs as `python -m generator` with its folder first on PYTHONPATH and a build
cache of its own. For each size it generates one catalog (bench/catalogs.py) and then, for
each kind of build, runs the two checkouts in turn, `--runs` times, swapping which goes
first each round, so that the machine's drift falls on both alike:

- cold: `build --no-cache` into an empty folder;
- warm: `build` again with nothing changed (after one build that fills the cache);
- edit: `build` after one agent file's body changed (both checkouts see the same edit);
- describe: `build` after the same file's description changed (what the index, llms.txt and
  catalog.json show of the agent).

It prints, per size and kind, each checkout's median seconds and peak PSS of the process
tree (see build_speed.py), and the ratio after ÷ before. `--kinds warm edit` leaves the cold
builds out (at 20,000 agents each takes minutes; one fills each cache all the same). With `--hugo`, Hugo's cold build of
the same files is timed too, for scale.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.build_speed import MIB, bench_hugo, run_measured  # noqa: E402
from bench.catalogs import BODIES, make_catalog, with_description_begun  # noqa: E402

KINDS = ("cold", "warm", "edit", "describe")
CACHES = Path(tempfile.mkdtemp(prefix="agentpages-compare-caches-"))
"""Each checkout's user cache folder: outside the catalog's folder, where a build refuses one."""


def build_command(checkout: Path, catalog: Path, out: Path, *options: str) -> tuple[list[str], dict[str, str]]:
    """Return the command that builds `catalog` into `out` with `checkout`'s code, and its environment."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "XDG_CACHE_HOME": str(CACHES / checkout.name)}
    env.pop("AGENTPAGES_CACHE_DIR", None)
    return [sys.executable, "-m", "generator", "build", "--agents", str(catalog), "--out", str(out), *options], env


def measure(command: tuple[list[str], dict[str, str]], cwd: Path) -> tuple[float, int]:
    """Run one build; return its wall seconds and the peak PSS of its process tree."""
    seconds, _, pss = run_measured(command[0], cwd, command[1])
    return seconds, pss


def compare_size(
    checkouts: list[Path], size: int, runs: int, work: Path, bodies: str, kinds: list[str],
) -> dict[str, dict[Path, list[tuple[float, int]]]]:
    catalog = work / "agents"
    make_catalog(catalog, size, bodies)
    files = sorted(catalog.rglob("*.md"))
    target = files[len(files) // 2]
    original = target.read_text(encoding="utf-8")
    results: dict[str, dict[Path, list[tuple[float, int]]]] = {kind: {c: [] for c in checkouts} for kind in kinds}

    def in_turn(number: int) -> list[Path]:
        return checkouts if number % 2 == 0 else list(reversed(checkouts))

    for number in range(runs if "cold" in kinds else 0):
        for checkout in in_turn(number):
            out = work / f"cold-{checkout.name}"
            shutil.rmtree(out, ignore_errors=True)
            results["cold"][checkout].append(measure(build_command(checkout, catalog, out, "--no-cache"), work))
    for checkout in checkouts:  # fill each one's cache
        measure(build_command(checkout, catalog, work / f"site-{checkout.name}"), work)
    time.sleep(2.5)  # past the racy window: files are known by their stamps
    for number in range(runs if "warm" in kinds else 0):
        for checkout in in_turn(number):
            results["warm"][checkout].append(measure(build_command(checkout, catalog, work / f"site-{checkout.name}"), work))
    for number in range(runs if "edit" in kinds else 0):
        target.write_text(original + f"\nEdited in round {number} at {time.time_ns()}.\n", encoding="utf-8")
        for checkout in in_turn(number):
            results["edit"][checkout].append(measure(build_command(checkout, catalog, work / f"site-{checkout.name}"), work))
    for number in range(runs if "describe" in kinds else 0):
        target.write_text(with_description_begun(original, f"Edited in round {number} at {time.time_ns()}."),
                          encoding="utf-8")
        for checkout in in_turn(number):
            results["describe"][checkout].append(
                measure(build_command(checkout, catalog, work / f"site-{checkout.name}"), work))
    target.write_text(original, encoding="utf-8")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hugo", action="store_true")
    parser.add_argument("--bodies", choices=BODIES, default="mix")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    args = parser.parse_args()
    checkouts = [args.before.resolve(), args.after.resolve()]
    if checkouts[0].name == checkouts[1].name:
        parser.error("the two checkouts need folders of different names (their caches are named after them)")
    for checkout in checkouts:
        compileall.compile_dir(checkout / "generator", quiet=1)  # as an install would
    print(f"median of {args.runs} alternating runs; before = {checkouts[0]}, after = {checkouts[1]}", flush=True)
    print(f"{'agents':>7} {'build':<6} {'before s':>9} {'after s':>8} {'after/before':>13} "
          f"{'before PSS MiB':>15} {'after PSS MiB':>14}", flush=True)
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            results = compare_size(checkouts, size, args.runs, work, args.bodies, args.kinds)
            for kind, by_checkout in results.items():
                before, after = (by_checkout[c] for c in checkouts)
                seconds = [statistics.median(s for s, _ in runs) for runs in (before, after)]
                pss = [max(p for _, p in runs) / MIB for runs in (before, after)]
                print(f"{size:>7} {kind:<6} {seconds[0]:9.2f} {seconds[1]:8.2f} {seconds[1] / seconds[0]:13.2f} "
                      f"{pss[0]:15.0f} {pss[1]:14.0f}", flush=True)
            shutil.rmtree(CACHES, ignore_errors=True)
            if args.hugo:
                hugo = bench_hugo(work / "agents", args.runs)
                if hugo:
                    print(f"{size:>7} Hugo cold {hugo.median:.2f} s, peak PSS {hugo.peak_pss_bytes / MIB:.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
