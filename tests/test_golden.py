"""Golden sites: each `fixtures/golden-*/agents` builds to exactly its `expected/` folder.

After a deliberate change to the output, regenerate and review the diff:

    python -m pytest tests/test_golden.py --update-goldens
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

import pytest
from conftest import build_catalog

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(FIXTURES.glob("golden-*"))
# Generated CSS follows the installed Pygments; goldens hold the pages and the search index.
IGNORED = ("assets/",)
# Outside git, files are dated by their modification time; goldens need a fixed one.
FIXED_TIME = 1_767_323_045  # 2026-01-02T03:04:05Z


def site_files(folder: Path) -> dict[str, str]:
    return {
        rel: path.read_text(encoding="utf-8")
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not (rel := path.relative_to(folder).as_posix()).startswith(IGNORED)
    }


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_golden_site(case: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    shutil.copytree(case / "agents", tmp_path / "agents")
    for path in (tmp_path / "agents").rglob("*.md"):
        os.utime(path, (FIXED_TIME, FIXED_TIME))
    build_catalog(tmp_path / "agents", tmp_path / "site")
    built = site_files(tmp_path / "site")
    expected_dir = case / "expected"
    if request.config.getoption("--update-goldens"):
        shutil.rmtree(expected_dir, ignore_errors=True)
        shutil.copytree(tmp_path / "site", expected_dir, ignore=shutil.ignore_patterns("assets"))
    expected = site_files(expected_dir)
    assert sorted(built) == sorted(expected)
    diffs = [
        "".join(difflib.unified_diff(expected[name].splitlines(True), built[name].splitlines(True), f"expected/{name}", f"built/{name}"))
        for name in sorted(built)
        if built[name] != expected[name]
    ]
    assert not diffs, "\n".join(diffs)
