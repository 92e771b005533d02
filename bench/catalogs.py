"""Generated catalogs for benchmarks and size tests: real agent files, cycled and renamed.

The sources are the demo catalog and, when it sits beside the checkout, ../shared/corpora.
Every generated file has frontmatter that is valid YAML (name, description, model, color,
tools as the source gave them), so other tools (MkDocs, Hugo) can read the same files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from generator.catalog.frontmatter import split_front_matter

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO.parent / "shared" / "corpora"
GROUPS = 25
_KEPT_KEYS = ("description", "model", "color", "tools")


def source_files() -> list[Path]:
    """Return the real agent files generated catalogs are made of."""
    corpora = sorted(p for p in CORPORA.rglob("*.md") if p.name.lower() != "readme.md") if CORPORA.is_dir() else []
    return corpora + sorted((REPO / "agents").rglob("*.md"))


SEED = REPO / "agents" / "engineering" / "senior-backend-engineer.md"
BODIES = ("mix", "seed")
"""What generated agents are made of: every source file in turn, or the seed agent's alone."""


def make_catalog(agents_dir: Path, count: int, bodies: str = "mix") -> list[Path]:
    """Write `count` uniquely named agents in GROUPS folders below `agents_dir`; return their paths.

    With `bodies="seed"`, every agent has the seed agent's frontmatter and body under its own name.
    """
    sources = [_read_source(path) for path in ([SEED] if bodies == "seed" else source_files())]
    paths = []
    for number in range(count):
        front, body = sources[number % len(sources)]
        name = f"agent-{number:04d}"
        path = agents_dir / f"group-{number % GROUPS:02d}" / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\nname: {name}\n{front}---\n{body}", encoding="utf-8")
        paths.append(path)
    return paths


def _read_source(path: Path) -> tuple[str, str]:
    """Return a source file's kept frontmatter, rewritten as valid YAML, and its body."""
    split = split_front_matter(path.read_text(encoding="utf-8"))
    data = split.front_matter.data
    lines = [f"{key}: {json.dumps(data[key], ensure_ascii=False)}\n" for key in _KEPT_KEYS if data.get(key)]
    return "".join(lines), split.body


_DESCRIPTION = re.compile(r'^description: "', re.MULTILINE)


def with_description_begun(text: str, words: str) -> str:
    """Return a generated agent file (see `make_catalog`) whose description starts with `words`:
    an edit of what the index, llms.txt and catalog.json show of the agent."""
    edited, found = _DESCRIPTION.subn(lambda match: match.group(0) + json.dumps(words)[1:-1] + " ", text, count=1)
    if not found:
        raise ValueError("the file has no description of make_catalog's kind")
    return edited
