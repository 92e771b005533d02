"""An edit that keeps every file's place in the plan is answered by the last build's plan (the
ledger): only the changed files' pages are rendered, and the site equals a cold build byte for
byte; anything the ledger cannot answer for goes through the full pipeline, with the same result."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DEMO_AGENTS, parse_html
from test_cache import SEED, build_into, cache_database, replace_text, tree

from generator.config import load_config
from generator.errors import BuildFailed, Report, SiteError
from generator.pipeline.build import build
from generator.site import plan as plan_stage

BODY_EDIT = ("## Core Expertise", "## Core Expertise\n\nNow with quokka wrangling.")


@pytest.fixture
def catalog(tmp_path: Path, monkeypatch) -> Path:
    from generator.pipeline import read as read_stage

    monkeypatch.setattr(read_stage, "RACY_SECONDS", 0)  # trust the times of files just written
    shutil.copytree(DEMO_AGENTS, tmp_path / "agents")
    return tmp_path / "agents"


@pytest.fixture
def planned(monkeypatch) -> list[int]:
    """Count the builds that planned the whole catalog again."""
    calls: list[int] = []
    plan_pages = plan_stage.plan_pages

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return plan_pages(*args, **kwargs)

    monkeypatch.setattr(plan_stage, "plan_pages", counted)
    return calls


def findings_of(result) -> list[tuple[str, int, int, str]]:  # type: ignore[no-untyped-def]
    return [(str(f.path), f.line, f.column, f.message) for f in result.report.findings]


def assert_equals_cold_build(catalog: Path, site: Path, warm=None) -> None:  # type: ignore[no-untyped-def]
    """The site, and the findings of the `warm` build when given, are a cold build's."""
    cold = site.parent / "cold"
    shutil.rmtree(cold, ignore_errors=True)
    result = build_into(catalog, cold, use_cache=False)
    assert tree(site) == tree(cold)
    if warm is not None:
        assert findings_of(warm) == findings_of(result)


def test_a_body_edit_renders_one_page_without_planning_again(catalog: Path, tmp_path: Path, planned: list[int]) -> None:
    site = tmp_path / "site"
    build_into(catalog, site, True)
    assert planned == [1]
    for number in range(3):  # one edit after another, each answered by the plan the last one left
        replace_text(catalog / SEED, BODY_EDIT[0], f"{BODY_EDIT[1]} {number}")
        planned.clear()
        result = build_into(catalog, site, True)
        assert result.cache is not None and (result.cache.hits, result.cache.misses) == (10, 1)
        assert planned == [], "answered by the last build's plan"
        assert len(result.catalog) == 11 and not result.unchanged
        assert_equals_cold_build(catalog, site, result)
    page = parse_html((site / "agents/senior-backend-engineer/index.html").read_text())
    assert "quokka wrangling. 2" in "".join(page.itertext())


def test_an_edit_of_a_file_just_written_is_answered_too(tmp_path: Path, planned: list[int]) -> None:
    """A file changed within the clock's tick has no stamp to trust; the next edit still finds it changed."""
    shutil.copytree(DEMO_AGENTS, tmp_path / "agents")
    catalog, site = tmp_path / "agents", tmp_path / "site"
    build_into(catalog, site, True)
    for number in range(2):
        replace_text(catalog / SEED, BODY_EDIT[0], f"{BODY_EDIT[1]} {number}")
        planned.clear()
        build_into(catalog, site, True)
        assert planned == [], "answered by the plan"
        assert_equals_cold_build(catalog, site)


EDITS_THE_PLAN_CANNOT_ANSWER: dict[str, Callable[[Path], None]] = {
    "a new name": lambda a: replace_text(a / SEED, "name: senior-backend-engineer", "name: aaa-backend"),
    "a new color": lambda a: replace_text(a / SEED, "color: purple", "color: teal"),
    "a new model": lambda a: replace_text(a / SEED, "model: inherit", "model: opus"),
    "tools of its own": lambda a: replace_text(a / SEED, "color: purple", "color: purple\ntools: Read, Grep"),
    "a link to another file": lambda a: replace_text(a / SEED, BODY_EDIT[0],
                                                    "## Core Expertise\n\nSee [the planner](../operations/backup-recovery-planner.md)."),
    "a new file": lambda a: (a / "engineering/new.md").write_text("---\nname: new\ndescription: New.\n---\n\n## Role\n\nNew.\n"),
    "a file removed": lambda a: (a / "operations/incident-commander.md").unlink(),
}

EDITS_THE_INDEX_SHOWS: dict[str, tuple[Callable[[Path], None], str]] = {
    # each edit, and a word the index then shows of the agent (none for a heading: the card has none)
    "a new description": (lambda a: replace_text(a / SEED, "Use this agent when", "Call this <b>agent</b> when"),
                          "Call this agent when"),
    "a new heading": (lambda a: replace_text(a / SEED, "## Core Expertise", "## Core Expertise, edited"), ""),
    "a description cut short": (lambda a: replace_text(a / SEED, "description: Use this agent when you need",
                                                       'description: "Quokka & co."\nold_description: x'),
                                "Quokka"),
}


@pytest.mark.parametrize(("edit", "shown"), EDITS_THE_INDEX_SHOWS.values(), ids=EDITS_THE_INDEX_SHOWS.keys())
def test_an_edit_of_what_the_index_shows_splices_it_and_llms_txt(
    catalog: Path, tmp_path: Path, planned: list[int], edit: Callable[[Path], None], shown: str,
) -> None:
    site = tmp_path / "site"
    build_into(catalog, site, True)
    edit(catalog)
    planned.clear()
    result = build_into(catalog, site, True)
    assert planned == [], "answered by the last build's plan"
    assert result.cache is not None and result.cache.misses == 1
    assert_equals_cold_build(catalog, site, result)
    index = parse_html((site / "index.html").read_text())
    card = index.find(".//li[@data-agent='senior-backend-engineer']")
    assert card is not None and shown in "".join(card.itertext())
    line = next(line for line in (site / "llms.txt").read_text().splitlines() if "senior-backend-engineer" in line)
    assert shown in line.replace("\\", "")


def test_an_index_page_of_the_catalogs_own_is_rendered_again_after_an_edit(
    catalog: Path, tmp_path: Path, planned: list[int],
) -> None:
    """A theme's index page may show an agent by more than its card: the full pipeline renders it."""
    theme = tmp_path / "theme"
    theme.mkdir()
    own = (Path(__file__).resolve().parent.parent / "templates/index.html").read_text()
    (theme / "index.html").write_text(own.replace("<main", "<p>{{ catalog.agents[0].summary_text }}</p>\n<main"))
    (tmp_path / "agentpages.yml").write_text("theme_dir: theme\n")
    site = tmp_path / "site"
    build_into(catalog, site, True)
    replace_text(catalog / SEED, "Use this agent when", "Call this agent when")
    planned.clear()
    build_into(catalog, site, True)
    assert planned == [1]
    assert_equals_cold_build(catalog, site)


@pytest.mark.parametrize("edit", EDITS_THE_PLAN_CANNOT_ANSWER.values(), ids=EDITS_THE_PLAN_CANNOT_ANSWER.keys())
def test_what_the_plan_cannot_answer_is_built_in_full(
    catalog: Path, tmp_path: Path, planned: list[int], edit: Callable[[Path], None],
) -> None:
    site = tmp_path / "site"
    build_into(catalog, site, True)
    edit(catalog)
    planned.clear()
    build_into(catalog, site, True)
    assert planned == [1]
    assert_equals_cold_build(catalog, site)
    other = catalog / "engineering/test-strategy-advisor.md"  # and the plan of that build answers the next edit
    other.write_text(other.read_text() + "\nOne more paragraph.\n")
    planned.clear()
    build_into(catalog, site, True)
    assert planned == []
    assert_equals_cold_build(catalog, site)


def test_the_feed_and_sitemap_after_an_edit_equal_a_cold_builds(tmp_path: Path, planned: list[int], monkeypatch) -> None:
    from generator.pipeline import read as read_stage

    monkeypatch.setattr(read_stage, "RACY_SECONDS", 0)
    catalog, site = tmp_path / "agents", tmp_path / "site"
    catalog.mkdir()
    for number in range(70):  # more than the feed holds; the oldest file becomes the newest
        path = catalog / f"agent-{number:02}.md"
        path.write_text(f"---\nname: agent-{number:02}\ndescription: Does {number}.\n---\n\n## Role\n\nWorks.\n")
        os.utime(path, (1_700_000_000 + number * 3600, 1_700_000_000 + number * 3600))
    (tmp_path / "agentpages.yml").write_text("site_url: https://example.org/catalog/\n")
    build_into(catalog, site, True)
    replace_text(catalog / "agent-00.md", "Works.", "Works harder.")
    planned.clear()
    build_into(catalog, site, True)
    assert planned == []
    assert "agent-00" in (site / "feed.xml").read_text().split("<entry>")[1]
    assert_equals_cold_build(catalog, site)


def test_an_edit_in_a_git_repository_equals_a_cold_build(catalog: Path, tmp_path: Path, planned: list[int]) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True,
                       env={**os.environ, "GIT_AUTHOR_DATE": "2024-03-01T10:00:00Z", "GIT_COMMITTER_DATE": "2024-03-01T10:00:00Z",
                            "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@a", "GIT_COMMITTER_NAME": "a",
                            "GIT_COMMITTER_EMAIL": "a@a"})

    git("init", "-q")
    git("add", "agents")
    git("commit", "-q", "-m", "catalog")
    site = tmp_path / "site"
    build_into(catalog, site, True)
    replace_text(catalog / SEED, BODY_EDIT[0], BODY_EDIT[1])  # uncommitted: dated by the file's time
    planned.clear()
    build_into(catalog, site, True)
    assert planned == []
    assert_equals_cold_build(catalog, site)
    git("commit", "-q", "-am", "edit")  # a commit dates files anew: the whole catalog is planned again
    planned.clear()
    build_into(catalog, site, True)
    assert planned == [1]
    assert_equals_cold_build(catalog, site)


def test_a_strict_edit_with_a_new_finding_fails_and_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    from generator.pipeline import read as read_stage

    monkeypatch.setattr(read_stage, "RACY_SECONDS", 0)
    catalog, site = tmp_path / "agents", tmp_path / "site"
    catalog.mkdir()
    for name in ("alpha", "beta"):
        (catalog / f"{name}.md").write_text(f"---\nname: {name}\ndescription: Does {name}.\ntools: Read\n---\n\n"
                                             "## Role\n\nWorks.\n")
    build(load_config(catalog, site, strict=True), Report())
    before = tree(site)
    replace_text(catalog / "alpha.md", "tools: Read", "tools: Read, NoSuchTool")
    with pytest.raises(BuildFailed):
        build(load_config(catalog, site, strict=True), Report())
    assert tree(site) == before


def test_a_file_touched_but_not_changed_is_dated_anew(catalog: Path, tmp_path: Path, planned: list[int]) -> None:
    """Outside git a file is dated by its time: touching one file changes its page and entries
    though its bytes stayed, while another file's edit is answered by the plan."""
    site = tmp_path / "site"
    build_into(catalog, site, True)
    other = catalog / "operations/incident-commander.md"
    os.utime(other, (1_600_000_000, 1_600_000_000))
    replace_text(catalog / SEED, BODY_EDIT[0], BODY_EDIT[1])
    planned.clear()
    result = build_into(catalog, site, True)
    assert planned == [] and result.cache is not None and result.cache.misses == 2
    assert_equals_cold_build(catalog, site, result)


CATALOG_FINDINGS: dict[str, tuple[str, str]] = {
    "a broken link removed": ("See [gone](../nowhere/missing.md).", "See nothing."),
    "a missing image removed": ("![diagram](diagram.png)", "No diagram."),
}


@pytest.mark.parametrize("before, after", CATALOG_FINDINGS.values(), ids=CATALOG_FINDINGS.keys())
def test_the_findings_after_an_edit_are_a_cold_builds(catalog: Path, tmp_path: Path, before: str, after: str) -> None:
    site = tmp_path / "site"
    replace_text(catalog / SEED, BODY_EDIT[0], f"{BODY_EDIT[0]}\n\n{before}")
    build_into(catalog, site, True)
    replace_text(catalog / SEED, before, after)
    warm = build_into(catalog, site, True)
    cold = build_into(catalog, tmp_path / "cold", use_cache=False)
    assert findings_of(warm) == findings_of(cold)
    assert tree(site) == tree(tmp_path / "cold")


def test_a_duplicate_names_findings_follow_its_lines(catalog: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    duplicate = catalog / "engineering/duplicate.md"
    duplicate.write_text("---\nname: senior-backend-engineer\ndescription: Again.\n---\n\n## Role\n\nAgain.\n")
    build_into(catalog, site, True)
    duplicate.write_text("---\n# a comment\nname: senior-backend-engineer\ndescription: Again.\n---\n\n## Role\n\nAgain.\n")
    warm = build_into(catalog, site, True)
    assert findings_of(warm) == findings_of(build_into(catalog, tmp_path / "cold", use_cache=False))


def test_the_catalogs_own_stylesheet_is_read_again_at_an_edit(catalog: Path, tmp_path: Path, planned: list[int]) -> None:
    (tmp_path / "agentpages.yml").write_text("extra_css: [extra.css]\n")
    (tmp_path / "extra.css").write_text("body { color: red }\n")
    site = tmp_path / "site"
    build_into(catalog, site, True)
    (tmp_path / "extra.css").write_text("body { color: blue }\n")
    replace_text(catalog / SEED, BODY_EDIT[0], BODY_EDIT[1])
    planned.clear()
    build_into(catalog, site, True)
    assert planned == []
    assert_equals_cold_build(catalog, site)


def test_a_new_finding_in_a_body_is_reported_as_a_cold_build_reports_it(catalog: Path, tmp_path: Path,
                                                                       planned: list[int]) -> None:
    site = tmp_path / "site"
    build_into(catalog, site, True)
    (catalog / SEED).write_text((catalog / SEED).read_text() + "\n```python\nprint('never closed')\n")
    planned.clear()
    warm = build_into(catalog, site, True)
    assert planned == [] and any(f.rule == "unclosed-fence" for f in warm.report.findings)
    assert_equals_cold_build(catalog, site, warm)
    with pytest.raises(BuildFailed):  # in strict mode the same edit fails, the site as it was
        build(load_config(catalog, site, strict=True), Report())
    assert tree(site) == tree(tmp_path / "cold")


LINKS_TO_ANOTHER_AGENT = {
    "a link": "See [the planner](../operations/backup-recovery-planner.md).",
    "a link across lines": "See [the\nplanner](../operations/backup-recovery-planner.md).",
    "a reference in a quote": "See [the planner][p].\n\n> [p]: ../operations/backup-recovery-planner.md",
}


@pytest.mark.parametrize("link", LINKS_TO_ANOTHER_AGENT.values(), ids=LINKS_TO_ANOTHER_AGENT.keys())
def test_an_edit_of_a_file_linking_another_agent_keeps_the_link(catalog: Path, tmp_path: Path, link: str) -> None:
    site = tmp_path / "site"
    replace_text(catalog / SEED, BODY_EDIT[0], f"{BODY_EDIT[0]}\n\n{link}")
    build_into(catalog, site, True)
    replace_text(catalog / SEED, BODY_EDIT[0], BODY_EDIT[1])
    warm = build_into(catalog, site, True)
    assert_equals_cold_build(catalog, site, warm)


def test_an_edit_that_fails_to_build_reports_its_findings_and_changes_nothing(
    catalog: Path, tmp_path: Path, monkeypatch,
) -> None:
    from generator.pipeline import render

    site = tmp_path / "site"
    first = build_into(catalog, site, True)
    before = tree(site)

    def fail(*args: object) -> None:
        raise SiteError(tmp_path / "extra.css", 1, "cannot read it for the site")

    monkeypatch.setattr(render, "add_extra_assets", fail)  # a failure once the pages are rendered
    replace_text(catalog / SEED, BODY_EDIT[0], BODY_EDIT[1])
    report = Report()
    with pytest.raises(SiteError):
        build(load_config(catalog, site), report)
    assert tree(site) == before
    assert [(str(f.path), f.line, f.message) for f in report.findings] == \
        [(str(f.path), f.line, f.message) for f in first.report.findings]


def test_a_build_after_an_edit_too_recent_to_trust_repeats_it(tmp_path: Path, planned: list[int], monkeypatch) -> None:
    """An edit's file may change again within its clock's tick, so the edit's build does not trust
    its stamp; the next build finds it touched, its page the same, and repeats the last build,
    after which builds repeat it without reading a file."""
    from generator.pipeline import read as read_stage

    shutil.copytree(DEMO_AGENTS, tmp_path / "agents")
    catalog, site = tmp_path / "agents", tmp_path / "site"
    monkeypatch.setattr(read_stage, "RACY_SECONDS", 0)
    build_into(catalog, site, True)
    replace_text(catalog / SEED, BODY_EDIT[0], BODY_EDIT[1])
    monkeypatch.setattr(read_stage, "RACY_SECONDS", 10**9)  # every file too recent to trust
    build_into(catalog, site, True)
    before = tree(site)
    monkeypatch.setattr(read_stage, "RACY_SECONDS", 0)
    planned.clear()
    again = build_into(catalog, site, True)
    assert again.unchanged and planned == [] and tree(site) == before
    assert again.cache is not None and again.cache.misses == 0 and len(again.catalog) == 11
    assert_equals_cold_build(catalog, site, again)
    from generator.pipeline import edit

    asked: list[int] = []
    monkeypatch.setattr(edit, "edit_in_place", lambda *args: asked.append(1))
    assert build_into(catalog, site, True).unchanged and asked == [], "repeated by the stamps alone"


def test_edits_at_both_ends_of_the_catalog_keep_catalog_json_a_cold_builds(tmp_path: Path, planned: list[int],
                                                                          monkeypatch) -> None:
    from generator.pipeline import read as read_stage

    monkeypatch.setattr(read_stage, "RACY_SECONDS", 0)
    catalog, site = tmp_path / "agents", tmp_path / "site"
    catalog.mkdir()
    for number, word in enumerate(["café", "naïve", "日本語", "Ωmega", "smörgåsbord"]):
        path = catalog / f"agent-{number}.md"
        path.write_text(f"---\nname: agent-{number}\ndescription: Serves {word}.\n---\n\n## Role\n\nWorks on {word}.\n")
        os.utime(path, (1_700_000_000, 1_700_000_000))
    build_into(catalog, site, True)
    for name in ("agent-0.md", "agent-4.md"):  # the first object and the last, each dated anew
        replace_text(catalog / name, "Works on", "Works hard on")
    planned.clear()
    result = build_into(catalog, site, True)
    assert planned == [] and result.cache is not None and result.cache.misses == 2
    assert_equals_cold_build(catalog, site)


def test_findings_an_edit_left_as_they_were_are_not_stored_again(catalog: Path, tmp_path: Path, planned: list[int],
                                                                monkeypatch) -> None:
    import sqlite3

    from generator.store import cache as cache_module

    def stored_result() -> tuple[str, list[tuple[str, str]]]:
        with sqlite3.connect(cache_database(catalog)) as db:
            generation = db.execute("SELECT value FROM state WHERE name = 'result'").fetchone()[0]
            return generation, db.execute("SELECT file, key FROM result_pages ORDER BY place").fetchall()

    site = tmp_path / "site"
    build_into(catalog, site, True)
    packed: list[str] = []
    pack = cache_module.pack
    monkeypatch.setattr(cache_module, "pack", lambda value, place: packed.append(place) or pack(value, place))
    before = stored_result()
    replace_text(catalog / SEED, BODY_EDIT[0], BODY_EDIT[1])  # the seed's two warnings stay as they were
    warm = build_into(catalog, site, True)
    after = stored_result()
    assert findings_of(warm) and "findings" not in packed
    assert after[0] != before[0], "the result was recorded"
    changed = [place for place, (old, new) in enumerate(zip(before[1], after[1], strict=True)) if old != new]
    assert len(changed) == 1 and after[1][changed[0]][0] == "engineering/senior-backend-engineer.md"
    planned.clear()
    again = build_into(catalog, site, True)
    assert again.unchanged and planned == [], "the last build's record answers"
    assert_equals_cold_build(catalog, site, again)


@pytest.mark.parametrize("stored", ["findings", "result"])
def test_findings_or_pages_another_build_stored_meanwhile_leave_no_record_to_repeat(
    catalog: Path, tmp_path: Path, planned: list[int], monkeypatch, stored: str,
) -> None:
    """An edit stores the findings and pages it changed over those it read; another build's,
    stored between its reading and its storing, leave no record at all."""
    import sqlite3

    from generator.store.cache import BuildCache

    site = tmp_path / "site"
    build_into(catalog, site, True)
    store_result = BuildCache._store_result

    def stored_meanwhile(self: BuildCache, result: object, changed_pages: object) -> None:
        self._db.execute("UPDATE state SET value = 'another build''s' WHERE name = ?", (stored,))
        store_result(self, result, changed_pages)

    monkeypatch.setattr(BuildCache, "_store_result", stored_meanwhile)
    replace_text(catalog / SEED, BODY_EDIT[0], BODY_EDIT[1])
    build_into(catalog, site, True)
    monkeypatch.setattr(BuildCache, "_store_result", store_result)
    with sqlite3.connect(cache_database(catalog)) as db:
        assert db.execute("SELECT count(*) FROM state WHERE name IN ('findings', 'result')").fetchone() == (0,)
    planned.clear()
    again = build_into(catalog, site, True)
    assert planned == [1], "read and planned in full: no record of the last build's findings to repeat"
    assert_equals_cold_build(catalog, site, again)


def test_an_edit_splices_catalog_json_only_where_it_holds_the_objects_the_cache_keeps(
    catalog: Path, tmp_path: Path, planned: list[int],
) -> None:
    import sqlite3

    site = tmp_path / "site"
    build_into(catalog, site, True)
    with sqlite3.connect(cache_database(catalog)) as db:  # sizes that add up, but put the seed's object elsewhere
        other = db.execute("SELECT slug FROM entries WHERE slug != 'senior-backend-engineer' LIMIT 1").fetchone()[0]
        db.execute("UPDATE entries SET object_size = object_size + 1 WHERE slug = 'senior-backend-engineer'")
        db.execute("UPDATE entries SET object_size = object_size - 1 WHERE slug = ?", (other,))
    replace_text(catalog / SEED, BODY_EDIT[0], BODY_EDIT[1])
    planned.clear()
    result = build_into(catalog, site, True)
    assert planned == [1], "built in full"
    assert_equals_cold_build(catalog, site, result)
