"""Measure what the Markdown pipeline costs per page, against plain Python-Markdown.

    python bench/markdown_cost.py [AGENTS_DIR ...]

With no folder it reads the demo catalog and, when present, ../shared/corpora. Each body
is rendered by plain Python-Markdown (fenced_code, tables, toc, codehilite: what a MkDocs
site uses) and by agentpages' pipeline; the best of five rounds is reported per page.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import markdown

from generator.catalog.frontmatter import split_front_matter
from generator.markdown.markup import MarkdownRenderer
from generator.markdown.sanitize import sanitize_html

REPO = Path(__file__).resolve().parent.parent
ROUNDS = 5


def read_bodies(folders: list[Path]) -> list[str]:
    """Return the body of every agent file below the folders."""
    paths = sorted(p for folder in folders for p in folder.rglob("*.md") if p.name != "README.md")
    return [split_front_matter(p.read_text(encoding="utf-8")).body for p in paths]


def best_time(render, bodies: list[str]) -> float:
    """Return the fastest of several rounds of rendering every body, in seconds."""
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for body in bodies:
            render(body)
        rounds.append(time.perf_counter() - started)
    return min(rounds)


def main() -> None:
    folders = [Path(a) for a in sys.argv[1:]] or [REPO / "agents", REPO.parent / "shared" / "corpora"]
    bodies = read_bodies([f for f in folders if f.is_dir()])
    plain = markdown.Markdown(
        extensions=["fenced_code", "tables", "toc", "codehilite"],
        extension_configs={"codehilite": {"guess_lang": False}},
    )
    ours = MarkdownRenderer()
    ours_md = ours._md  # noqa: SLF001 - the conversion alone, without sanitizing

    def plain_render(text: str) -> str:
        plain.reset()
        return plain.convert(text)

    def convert_only(text: str) -> str:
        ours_md.reset()
        return ours_md.convert(text)

    html = [convert_only(b) for b in bodies]
    timings = {
        "plain Python-Markdown": best_time(plain_render, bodies),
        "agentpages conversion": best_time(convert_only, bodies),
        "agentpages full (with sanitizing)": best_time(ours.render, bodies),
    }
    sanitize = best_time(lambda h: sanitize_html(h), html)
    base = timings["plain Python-Markdown"]
    print(f"{len(bodies)} bodies, median {statistics.median(len(b) for b in bodies):,} characters")
    print(f"{'pipeline':36} {'ms/page':>8} {'ratio':>6}")
    for name, seconds in timings.items():
        print(f"{name:36} {seconds / len(bodies) * 1000:8.2f} {seconds / base:6.2f}")
    print(f"{'  of which sanitizing (nh3)':36} {sanitize / len(bodies) * 1000:8.2f}")


if __name__ == "__main__":
    main()
