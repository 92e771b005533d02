"""The judged query set (tests/fixtures/search_queries.json) and how an engine's answers are scored.

A query's relevant files were chosen by reading the shared corpora's files before any engine
ran; an engine answers with agent files in rank order. recall@10 is the share of a query's
relevant files in its first ten answers (of at most ten); MRR the mean of 1 / the rank of the
first relevant answer (0 when none is in the first ten).
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

QUERIES_FILE = Path(__file__).parent / "fixtures" / "search_queries.json"
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
"""The shared corpora beside the checkout (as conftest.CORPORA; this module is also bench's)."""
CUTOFF = 10


@dataclass(frozen=True)
class JudgedQuery:
    query: str
    kind: str
    relevant: frozenset[str]
    """Paths of the agent files a reader would want, below the corpora folder."""
    best: frozenset[str]


@dataclass(frozen=True)
class Scores:
    recall: float
    mrr: float
    empty: int
    """Queries with no answer at all."""
    by_kind: dict[str, tuple[float, float]]


def judged_queries() -> list[JudgedQuery]:
    data = json.loads(QUERIES_FILE.read_text(encoding="utf-8"))
    return [JudgedQuery(item["query"], item["kind"], frozenset(item["relevant"]), frozenset(item.get("best", ())))
            for item in data["queries"]]


def copy_corpora(target: Path) -> Path:
    """Copy both corpora's agent files into one agents folder; return it."""
    agents = target / "agents"
    for catalog in sorted(CORPORA.iterdir()):
        if catalog.is_dir():
            shutil.copytree(catalog, agents / catalog.name, ignore=shutil.ignore_patterns("README.md", "LICENSE*"))
    return agents


def paths_by_page(site: Path) -> dict[str, str]:
    """Each agent page's address below the site root, with its file's path below the agents folder."""
    catalog = json.loads((site / "catalog.json").read_text(encoding="utf-8"))
    return {agent["url"]: agent["source_path"] for agent in catalog["agents"]}


def score(queries: list[JudgedQuery], answers: Callable[[str], list[str]]) -> Scores:
    """Score an engine whose `answers` are agent file paths (below the corpora folder), best first."""
    recalls: dict[str, list[float]] = {}
    ranks: dict[str, list[float]] = {}
    empty = 0
    for judged in queries:
        found = answers(judged.query)
        empty += not found
        top = found[:CUTOFF]
        recalls.setdefault(judged.kind, []).append(len(judged.relevant & set(top)) / min(len(judged.relevant), CUTOFF))
        rank = next((position for position, path in enumerate(top, 1) if path in judged.relevant), None)
        ranks.setdefault(judged.kind, []).append(1 / rank if rank else 0.0)
    every_recall = [value for values in recalls.values() for value in values]
    every_rank = [value for values in ranks.values() for value in values]
    by_kind = {kind: (_mean(recalls[kind]), _mean(ranks[kind])) for kind in sorted(recalls)}
    return Scores(_mean(every_recall), _mean(every_rank), empty, by_kind)


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


SHOWN = "[...document.querySelectorAll('[data-results] [data-agent]')].map(card => card.querySelector('.card-title a').getAttribute('href'))"
SETTLED = ("() => document.querySelector('[data-result-count]').textContent !== ''"
           " && (!document.querySelector('[data-results]').hidden || !document.querySelector('[data-no-results]').hidden)")


def our_answers(page, base_url: str, by_page: dict[str, str]) -> Callable[[str], list[str]]:
    """Ask our index page's search box (a Playwright page on the served site), as a reader does."""
    def answers(query: str) -> list[str]:
        page.goto(base_url + "index.html?q=" + urllib.parse.quote(query))
        page.wait_for_function(SETTLED)
        return [by_page[href] for href in page.evaluate(SHOWN) if href in by_page]
    return answers


def report(name: str, scores: Scores) -> str:
    kinds = ", ".join(f"{kind} {recall:.2f}/{mrr:.2f}" for kind, (recall, mrr) in scores.by_kind.items())
    return f"{name}: recall@10 {scores.recall:.3f}, MRR {scores.mrr:.3f}, empty {scores.empty} ({kinds})"
