"""Time `agentpages build` on a whole plugin marketplace: cold, warm and after one edit.

    python bench/marketplace_speed.py [--copies 1 10] [--runs 3]

The marketplace is ../shared/marketplaces/wshobson__agents as published (92 plugins: 202
agents, 105 commands, 181 skills with their references). `--copies N` makes one marketplace
of N copies of its plugins, each copy's plugins renamed (`<name>-2`, …), so 10 copies hold
about 5,000 components. Each build runs at the marketplace's root with no options, as a
user's would; the rows are timed as bench/build_speed.py times them (median wall time, peak
RSS and PSS of the whole process tree). The edits: one command's prompt, one skill's
reference, one agent's body, in turn.

For scale, MkDocs and Hugo (when installed; `--no-mkdocs`, `--no-hugo` leave them out) build
the same Markdown cold: every agent, command, SKILL.md, skill Markdown file and plugin README,
at their paths, as plain pages. They read no manifests, show no hooks, scripts or skill
archives, and highlight no reference code, so the ratio flatters them.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.build_speed import MIB, Timing, bench_hugo, bench_mkdocs, repeat, run_measured  # noqa: E402

SOURCE = Path(__file__).resolve().parent.parent.parent / "shared" / "marketplaces" / "wshobson__agents"


def make_marketplace(root: Path, copies: int) -> Path:
    """Copy the marketplace into `root`, with its plugins `copies` times over; return `root`."""
    shutil.copytree(SOURCE, root, symlinks=True)
    if copies == 1:
        return root
    manifest_path = root / ".claude-plugin" / "marketplace.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    entries = list(manifest["plugins"])
    for copy in range(2, copies + 1):
        for entry in manifest["plugins"][: len(entries)]:
            if not isinstance(entry["source"], str):
                continue
            folder = root / entry["source"]
            twin = folder.with_name(f"{folder.name}-{copy}")
            shutil.copytree(folder, twin, symlinks=True)
            plugin_json = twin / ".claude-plugin" / "plugin.json"
            if plugin_json.is_file():
                declared = json.loads(plugin_json.read_text(encoding="utf-8"))
                declared["name"] = f"{declared.get('name', folder.name)}-{copy}"
                plugin_json.write_text(json.dumps(declared, indent=2), encoding="utf-8")
            entries.append({**entry, "name": f"{entry['name']}-{copy}", "source": f"{entry['source']}-{copy}"})
    manifest["plugins"] = entries
    manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return root


def bench_marketplace(root: Path, runs: int) -> dict[str, Timing]:
    build = [sys.executable, "-m", "generator", "build"]
    cache = root.parent / "cache"
    cold = repeat(runs, lambda n: shutil.rmtree(root.parent / "cold", ignore_errors=True),
                  [*build, "--no-cache", "--out", str(root.parent / "cold")], root)
    run_measured([*build, "--cache-dir", str(cache)], root)  # fills the cache
    warm = repeat(runs, lambda n: None, [*build, "--cache-dir", str(cache)], root)
    targets = [sorted(root.glob("plugins/*/commands/*.md"))[0],
               sorted(root.glob("plugins/*/skills/*/references/*.md"))[0],
               sorted(root.glob("plugins/*/agents/*.md"))[0]]
    originals = {target: target.read_text(encoding="utf-8") for target in targets}

    def edit(number: int) -> None:
        target = targets[number % len(targets)]
        target.write_text(originals[target] + f"\nEdited in run {number} at {time.time_ns()}.\n", encoding="utf-8")

    edited = repeat(runs, edit, [*build, "--cache-dir", str(cache)], root)
    for target, text in originals.items():
        target.write_text(text, encoding="utf-8")
    return {"cold": cold, "warm": warm, "edit": edited}


def markdown_pages(root: Path, docs: Path) -> Path:
    """Copy the Markdown a marketplace's site shows into `docs`, at the same paths; return `docs`."""
    patterns = ("plugins/*/agents/**/*.md", "plugins/*/commands/**/*.md", "plugins/*/skills/*/**/*.md",
                "plugins/*/README.md")
    for path in sorted({path for pattern in patterns for path in root.glob(pattern)}):
        target = docs / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return docs


def count_components(root: Path) -> str:
    agents = len(list(root.glob("plugins/*/agents/*.md")))
    commands = len(list(root.glob("plugins/*/commands/*.md")))
    skills = len(list(root.glob("plugins/*/skills/*/SKILL.md")))
    plugins = len(json.loads((root / ".claude-plugin" / "marketplace.json").read_text())["plugins"])
    return f"{plugins} plugins, {agents} agents, {commands} commands, {skills} skills"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-mkdocs", action="store_true")
    parser.add_argument("--no-hugo", action="store_true")
    args = parser.parse_args()
    if not SOURCE.is_dir():
        sys.exit(f"{SOURCE} is not here")
    compileall.compile_dir(Path(__file__).resolve().parent.parent / "generator", quiet=1)
    print(f"{platform.node() or 'this machine'}: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"median of {args.runs} runs", flush=True)
    for copies in args.copies:
        with tempfile.TemporaryDirectory() as folder:
            root = make_marketplace(Path(folder) / "marketplace", copies)
            print(f"\n{copies} × wshobson: {count_components(root)}", flush=True)
            print(f"{'build':<12} {'seconds':>8} {'peak RSS MiB':>13} {'peak PSS MiB':>13} {'÷ MkDocs':>9} "
                  f"{'÷ Hugo':>7}", flush=True)
            rows = bench_marketplace(root, args.runs)
            if not (args.no_mkdocs and args.no_hugo):
                docs = markdown_pages(root, Path(folder) / "pages" / "docs")
                mkdocs = None if args.no_mkdocs else bench_mkdocs(docs, args.runs)
                hugo = None if args.no_hugo else bench_hugo(docs, args.runs)
                rows |= {name: timing for name, timing in (("MkDocs cold", mkdocs), ("Hugo cold", hugo)) if timing}
            for name, timing in rows.items():
                mkdocs_ratio, hugo_ratio = (f"{timing.median / rows[other].median:.2f}" if other in rows else ""
                                            for other in ("MkDocs cold", "Hugo cold"))
                print(f"{name:<12} {timing.median:8.2f} {timing.peak_bytes / MIB:13.0f} "
                      f"{timing.peak_pss_bytes / MIB:13.0f} {mkdocs_ratio:>9} {hugo_ratio:>7}", flush=True)


if __name__ == "__main__":
    main()
