"""The build cache: warm builds equal cold ones byte for byte, and an unchanged catalog writes nothing."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DEMO_AGENTS

from generator.config import load_config
from generator.errors import Report
from generator.pipeline import pages
from generator.pipeline.build import BuildResult, build
from generator.pipeline.memo import cache_folder
from generator.store.database import CACHE_FILE

SEED = "engineering/senior-backend-engineer.md"


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def stamps(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    shutil.copytree(DEMO_AGENTS, tmp_path / "agents")
    return tmp_path / "agents"


def build_into(agents: Path, out: Path, use_cache: bool, cache_dir: Path | None = None) -> BuildResult:
    return build(load_config(agents, out), Report(), use_cache=use_cache, cache_dir=cache_dir)


def cache_database(agents: Path) -> Path:
    """Return the file of the build cache of the catalog in `agents` (in the test's user cache folder)."""
    return cache_folder(load_config(agents, agents.parent / "site")) / CACHE_FILE


def _strings(value: object):
    """Every string in decoded JSON."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def replace_text(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


EDITS: dict[str, Callable[[Path], None]] = {
    "body": lambda a: replace_text(a / SEED, "## Core Expertise", "## Core Expertise, edited"),
    "name and so slug and neighbours": lambda a: replace_text(a / SEED, "name: senior-backend-engineer", "name: aaa-backend"),
    "description and so the index": lambda a: replace_text(a / SEED, "Use this agent when", "Call this agent when"),
    "new file linking another": lambda a: (a / "engineering/linker.md").write_text(
        "---\nname: linker\ndescription: Links.\n---\n\n## Role\n\nAsk [the seed](senior-backend-engineer.md).\n"),
    "linked file renamed": lambda a: replace_text(a / SEED, "name: aaa-backend", "name: renamed-seed"),
    "file removed": lambda a: (a / "operations/incident-commander.md").unlink(),
    "template": lambda a: (a.parent / "templates").mkdir() or (a.parent / "templates/404.html").write_text(
        "{% extends 'base.html' %}{% block page %}<main id='ap-main'><h1>Lost</h1></main>{% endblock %}"),
    "config": lambda a: (a.parent / "agentpages.yml").write_text("title: Renamed catalog\n"),
}


def test_after_each_edit_a_warm_build_equals_a_cold_one(catalog: Path, tmp_path: Path) -> None:
    first = build_into(catalog, tmp_path / "warm", use_cache=True)
    assert first.cache is not None and first.cache.misses == 11
    for name, edit in EDITS.items():
        edit(catalog)
        warm = build_into(catalog, tmp_path / "warm", use_cache=True)
        build_into(catalog, tmp_path / "cold", use_cache=False)
        assert tree(tmp_path / "warm") == tree(tmp_path / "cold"), name
        assert not warm.unchanged and warm.cache is not None and warm.cache.misses >= 1, name


def test_an_edit_renders_only_the_pages_it_changes(catalog: Path, tmp_path: Path) -> None:
    build_into(catalog, tmp_path / "site", use_cache=True)
    EDITS["body"](catalog)
    result = build_into(catalog, tmp_path / "site", use_cache=True)
    assert result.cache is not None and (result.cache.hits, result.cache.misses) == (10, 1)
    EDITS["name and so slug and neighbours"](catalog)
    result = build_into(catalog, tmp_path / "site", use_cache=True)
    # The agent, its two old neighbours and its new one (it is now first of its category).
    assert result.cache is not None and result.cache.misses == 4


def test_a_build_with_nothing_changed_writes_nothing(catalog: Path, tmp_path: Path) -> None:
    build_into(catalog, tmp_path / "site", use_cache=True)
    before = stamps(tmp_path / "site")
    result = build_into(catalog, tmp_path / "site", use_cache=True)
    assert result.unchanged and result.cache is not None and (result.cache.hits, result.cache.misses) == (11, 0)
    assert len(result.catalog.agents) == 11
    assert stamps(tmp_path / "site") == before, "no output file was touched"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site-")], "no staging folder either"


def test_a_deleted_or_foreign_site_is_rebuilt(catalog: Path, tmp_path: Path) -> None:
    build_into(catalog, tmp_path / "site", use_cache=True)
    shutil.rmtree(tmp_path / "site")
    result = build_into(catalog, tmp_path / "site", use_cache=True)
    assert not result.unchanged and (tmp_path / "site/index.html").is_file()
    assert result.cache is not None and result.cache.hits == 11, "pages still come from the cache"
    other = build_into(catalog, tmp_path / "other", use_cache=True)
    assert not other.unchanged and (tmp_path / "other/index.html").is_file()


def test_the_cache_is_kept_in_the_user_cache_folder_never_in_the_catalog(
    catalog: Path, tmp_path: Path, private_cache_folder: Path,
) -> None:
    before = sorted(catalog.parent.rglob("*"))
    build_into(catalog, tmp_path / "site", use_cache=True)
    made = [p for p in sorted(catalog.parent.rglob("*")) if p not in before and not p.is_relative_to(tmp_path / "site")]
    assert made == [], "a build leaves nothing in the catalog's folder"
    assert cache_database(catalog).is_file() and cache_database(catalog).is_relative_to(private_cache_folder)
    assert build_into(catalog, tmp_path / "site", use_cache=True).unchanged


def test_a_cache_that_came_with_the_repository_is_never_read(catalog: Path, tmp_path: Path) -> None:
    """A committed `.agentpages-cache/` (where caches used to go) is not looked at, and a cache
    folder named inside the catalog's folder is refused: its pages would skip the sanitizer."""
    planted = catalog.parent / ".agentpages-cache"
    build_into(catalog, tmp_path / "elsewhere", use_cache=True, cache_dir=tmp_path.parent / f"{tmp_path.name}-other-cache")
    shutil.copytree(tmp_path.parent / f"{tmp_path.name}-other-cache", planted)
    first = build_into(catalog, tmp_path / "site", use_cache=True)
    assert first.cache is not None and first.cache.misses == 11, "nothing came from the planted cache"
    inside = build_into(catalog, tmp_path / "site", use_cache=True, cache_dir=planted)
    assert inside.cache is None, "a cache folder inside the catalog's folder is not used"


def test_a_cache_folder_can_be_named(catalog: Path, tmp_path: Path) -> None:
    named = tmp_path.parent / f"{tmp_path.name}-named-cache"
    build_into(catalog, tmp_path / "site", use_cache=True, cache_dir=named)
    assert list(named.glob(f"*/{CACHE_FILE}"))
    result = build_into(catalog, tmp_path / "site", use_cache=True, cache_dir=named)
    assert result.unchanged and result.cache is not None and result.cache.hits == 11


def test_a_damaged_cache_is_replaced(catalog: Path, tmp_path: Path) -> None:
    build_into(catalog, tmp_path / "site", use_cache=True)
    database = cache_database(catalog)
    for extra in database.parent.glob(f"{CACHE_FILE}-*"):
        extra.unlink()
    database.write_bytes(b"this is not a database" * 100)
    result = build_into(catalog, tmp_path / "site", use_cache=True)
    assert result.cache is not None and result.cache.misses == 11
    assert build_into(catalog, tmp_path / "site", use_cache=True).unchanged
    assert b"this is not a database" not in database.read_bytes(), "the damaged cache was replaced where it was"


def test_a_cache_written_by_another_version_is_started_afresh(catalog: Path, tmp_path: Path) -> None:
    folder = cache_database(catalog).parent
    folder.mkdir(parents=True)
    older = sqlite3.connect(folder / CACHE_FILE)  # the tables as an earlier agentpages made them
    older.execute("CREATE TABLE files (path TEXT PRIMARY KEY, digest TEXT, raw BLOB, findings BLOB)")
    older.execute("CREATE TABLE pages (file TEXT PRIMARY KEY, key TEXT, links BLOB, agent BLOB, html BLOB)")
    older.commit()
    older.close()
    result = build_into(catalog, tmp_path / "site", use_cache=True)
    assert result.cache is not None and result.cache.misses == 11
    assert build_into(catalog, tmp_path / "site", use_cache=True).unchanged, "the new cache works"


def test_pages_rendered_by_workers_equal_pages_rendered_in_process(catalog: Path, tmp_path: Path, monkeypatch) -> None:
    from generator.pipeline import workers

    for module in (pages, workers):  # workers read and check the files, and render the pages
        monkeypatch.setattr(module, "worker_count", lambda count: 1)
    alone = build_into(catalog, tmp_path / "one", use_cache=False).catalog.agents
    for module in (pages, workers):
        monkeypatch.setattr(module, "worker_count", lambda count: 2)
    spread = build_into(catalog, tmp_path / "two", use_cache=True).catalog.agents
    assert tree(tmp_path / "one") == tree(tmp_path / "two")
    assert [(agent.slug, agent.examples, agent.sections, agent.metadata) for agent in spread] == [
        (agent.slug, agent.examples, agent.sections, agent.metadata) for agent in alone], "agents are given back whole"
    assert build_into(catalog, tmp_path / "two", use_cache=True).unchanged, "workers fill the cache too"


def test_a_worker_error_names_the_file(catalog: Path, tmp_path: Path, monkeypatch) -> None:
    from generator.errors import SiteError

    monkeypatch.setattr(pages, "worker_count", lambda count: 2)
    monkeypatch.setattr(pages, "render_agent_page", _explode)
    with pytest.raises(SiteError, match=r"internal error while rendering this agent: RuntimeError\('boom'\)"):
        build_into(catalog, tmp_path / "site", use_cache=False)
    assert not (tmp_path / "site").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site-")], "the staging folder is removed"


def _explode(*args: object) -> str:
    raise RuntimeError("boom")


def test_a_card_that_fails_stops_the_workers_and_changes_nothing(catalog: Path, tmp_path: Path, monkeypatch) -> None:
    """Cards are rendered as the workers' pages come back: a failure there must stop the workers
    before the staging folder is removed, and leave the site as it was."""
    import multiprocessing

    from generator.errors import TemplateError

    monkeypatch.setattr(pages, "worker_count", lambda count: 2)
    build_into(catalog, tmp_path / "site", use_cache=True)
    (tmp_path / "templates" / "_partials").mkdir(parents=True)
    (tmp_path / "templates" / "_partials" / "_card.html").write_text("<li>{{ (agent.name | length) // 0 }}</li>\n")
    before, beside = tree(tmp_path / "site"), sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(TemplateError, match=r"_card\.html:1: .*ZeroDivisionError"):
        build_into(catalog, tmp_path / "site", use_cache=True)
    assert multiprocessing.active_children() == [], "no worker is left rendering"
    assert sorted(p.name for p in tmp_path.iterdir()) == beside, "no staging folder is left"
    assert tree(tmp_path / "site") == before


def test_a_cache_that_stops_working_during_a_cold_build_changes_nothing_in_the_site(
    catalog: Path, tmp_path: Path, monkeypatch,
) -> None:
    from generator.store.cache import BuildCache

    expected = tree_of_cold_build(catalog, tmp_path / "plain")
    put_page, stored = BuildCache.put_page, []

    def put_then_fail(cache: BuildCache, *args: object) -> None:
        put_page(cache, *args)  # type: ignore[arg-type]
        stored.append(args)
        if len(stored) == 3:
            cache._switch_off(sqlite3.OperationalError("disk I/O error"))

    monkeypatch.setattr(BuildCache, "put_page", put_then_fail)
    result = build_into(catalog, tmp_path / "site", use_cache=True)
    assert tree(tmp_path / "site") == expected
    assert all(agent.examples is not None and agent.sections is not None for agent in result.catalog.agents)


def test_a_touched_but_unchanged_file_is_read_again_and_nothing_is_written(catalog: Path, tmp_path: Path) -> None:
    from test_publish import git

    git(tmp_path, "init", "-q")  # in git, a file's date is its commit's, not its modification time
    git(tmp_path, "add", "agents")
    git(tmp_path, "commit", "-qm", "first", date="2024-03-01T10:00:00Z")
    build_into(catalog, tmp_path / "site", use_cache=True)
    before = stamps(tmp_path / "site")
    os.utime(catalog / SEED)  # a checkout or an editor that saves without changes
    result = build_into(catalog, tmp_path / "site", use_cache=True)
    assert result.unchanged and stamps(tmp_path / "site") == before


def test_an_unchanged_build_in_strict_mode_still_fails_on_its_warnings(catalog: Path, tmp_path: Path) -> None:
    from generator.errors import BuildFailed

    build_into(catalog, tmp_path / "site", use_cache=True)
    before = stamps(tmp_path / "site")
    with pytest.raises(BuildFailed, match="2 warnings"):
        build(load_config(catalog, tmp_path / "site", strict=True), Report(), use_cache=True)
    assert stamps(tmp_path / "site") == before


def test_a_commit_that_changes_dates_only_rebuilds_what_shows_them(catalog: Path, tmp_path: Path) -> None:
    from test_publish import git

    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "agents")
    git(tmp_path, "commit", "-qm", "first", date="2024-03-01T10:00:00Z")
    build_into(catalog, tmp_path / "site", use_cache=True)
    git(tmp_path, "commit", "-q", "--amend", "--no-edit", date="2025-06-01T10:00:00Z")
    result = build_into(catalog, tmp_path / "site", use_cache=True)
    # Every page says when its file last changed, and the commit changed that day for all of them.
    assert not result.unchanged and result.cache is not None and result.cache.misses == 11
    assert "2025-06-01T10:00:00Z" in (tmp_path / "site/feed.xml").read_text()
    assert 'datetime="2025-06-01"' in (tmp_path / "site/agents/incident-commander/index.html").read_text()
    build_into(catalog, tmp_path / "cold", use_cache=False)
    assert tree(tmp_path / "site") == tree(tmp_path / "cold")


# -- what a review broke, and must stay fixed --------------------------------------------


LINKER = "---\nname: linker\ndescription: Links.\n---\n\n## Role\n\nAsk [beta](../operations/backup-recovery-planner.md).\n"


@pytest.fixture
def trusted_times(monkeypatch) -> None:
    """Trust file times at once: a file's change time cannot be set back, and a real build waits for nobody."""
    from generator.pipeline import read as read_stage

    monkeypatch.setattr(read_stage, "RACY_SECONDS", 0)


def test_a_deleted_link_target_is_reported_again(catalog: Path, tmp_path: Path) -> None:
    (catalog / "engineering/linker.md").write_text(LINKER)
    assert not [f for f in build_into(catalog, tmp_path / "site", True).report.findings if f.rule == "broken-link"]
    (catalog / "operations/backup-recovery-planner.md").unlink()
    findings = build_into(catalog, tmp_path / "site", True).report.findings
    assert [f.rule for f in findings if f.path.name == "linker.md"] == ["broken-link"]


def test_a_config_change_reruns_the_rules(catalog: Path, tmp_path: Path) -> None:
    replace_text(catalog / SEED, "model: inherit", "model: inherit\ntools: Read, FancyTool")
    assert "unknown-tool" in {f.rule for f in build_into(catalog, tmp_path / "site", True).report.findings}
    (catalog.parent / "agentpages.yml").write_text("extra_tools: [FancyTool]\n")
    assert "unknown-tool" not in {f.rule for f in build_into(catalog, tmp_path / "site", True).report.findings}


def test_an_edit_that_keeps_size_and_time_is_seen(catalog: Path, tmp_path: Path, trusted_times) -> None:
    build_into(catalog, tmp_path / "site", True)
    seed = catalog / SEED
    status = seed.stat()
    replace_text(seed, "Core Expertise", "Core EXPERTISE")  # same length
    os.utime(seed, ns=(status.st_atime_ns, status.st_mtime_ns))  # as cp -p, rsync -t or tar would
    result = build_into(catalog, tmp_path / "site", True)
    assert not result.unchanged
    assert "Core EXPERTISE" in (tmp_path / "site/agents/senior-backend-engineer/index.html").read_text()


def test_a_damaged_site_is_repaired(catalog: Path, tmp_path: Path, trusted_times) -> None:
    build_into(catalog, tmp_path / "site", True)
    (tmp_path / "site/agents/incident-commander/index.html").unlink()
    (tmp_path / "site/catalog.json").write_text("hacked")
    result = build_into(catalog, tmp_path / "site", True)
    assert not result.unchanged and result.cache is not None and result.cache.misses == 0
    build_into(catalog, tmp_path / "cold", use_cache=False)
    assert tree(tmp_path / "site") == tree(tmp_path / "cold")


def test_an_unchanged_catalog_is_answered_without_reading_a_file(
    catalog: Path, tmp_path: Path, monkeypatch, trusted_times
) -> None:
    from generator.pipeline import read as read_stage

    build_into(catalog, tmp_path / "site", True)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged catalog needs no file read")

    monkeypatch.setattr(read_stage, "read_agent_bytes", refuse)
    result = build_into(catalog, tmp_path / "site", True)
    assert result.unchanged and len(result.report.findings) == 2


def test_a_file_saved_just_now_is_not_trusted_by_its_times(catalog: Path, tmp_path: Path, monkeypatch) -> None:
    from generator.pipeline import read as read_stage

    build_into(catalog, tmp_path / "site", True)  # the files were copied a moment ago
    read = []
    original = read_stage.read_agent_bytes
    monkeypatch.setattr(read_stage, "read_agent_bytes", lambda *a, **k: read.append(a) or original(*a, **k))
    assert build_into(catalog, tmp_path / "site", True).unchanged
    assert len(read) == 11, "recent files are read and compared by content"


def test_a_cache_from_elsewhere_is_never_unpickled(catalog: Path, tmp_path: Path, monkeypatch) -> None:
    import pickle
    import sqlite3

    build_into(catalog, tmp_path / "site", True)
    database = cache_database(catalog)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.write_text, (marker, "ran"))

    with sqlite3.connect(database) as db:  # as a committed cache file would arrive
        db.execute("UPDATE files SET reading = ?", (b"\0" * 32 + pickle.dumps(Payload()),))
        db.execute("UPDATE file_heads SET head = ?", (pickle.dumps(Payload()),))
        db.execute("UPDATE page_heads SET head = ?", (pickle.dumps(Payload()),))
        db.execute("UPDATE pages SET rest = ?", (pickle.dumps(Payload()),))
        db.execute("UPDATE pages SET terms = ?", (pickle.dumps(Payload()),))
    os.utime(catalog / SEED)  # make the quick check look at the files
    build_into(catalog, tmp_path / "site", True)
    assert not marker.exists()
    build_into(catalog, tmp_path / "cold", use_cache=False)
    assert tree(tmp_path / "site") == tree(tmp_path / "cold")


def test_a_value_moved_to_another_row_is_refused(catalog: Path, tmp_path: Path) -> None:
    build_into(catalog, tmp_path / "site", True)
    database = cache_database(catalog)
    with sqlite3.connect(database) as db:  # every page row gets the same signed page
        page = db.execute("SELECT html FROM pages LIMIT 1").fetchone()[0]
        db.execute("UPDATE pages SET html = ?", (page,))
    shutil.rmtree(tmp_path / "site")
    build_into(catalog, tmp_path / "site", True)
    build_into(catalog, tmp_path / "cold", use_cache=False)
    assert tree(tmp_path / "site") == tree(tmp_path / "cold")


def test_entries_moved_between_agents_or_of_removed_agents_are_not_used(catalog: Path, tmp_path: Path) -> None:
    build_into(catalog, tmp_path / "site", True)
    database = cache_database(catalog)
    with sqlite3.connect(database) as db:  # every agent's row, under its own key, gets one agent's entries
        values = db.execute("SELECT part_1, part_2, part_3 FROM entries LIMIT 1").fetchone()
        db.execute("UPDATE entries SET part_1 = ?, part_2 = ?, part_3 = ?", values)
    EDITS["body"](catalog)  # an update in place, which reuses stored entries
    build_into(catalog, tmp_path / "site", True)
    build_into(catalog, tmp_path / "cold", use_cache=False)
    assert tree(tmp_path / "site") == tree(tmp_path / "cold")
    (catalog / "operations/incident-commander.md").unlink()
    build_into(catalog, tmp_path / "site", True)
    with sqlite3.connect(database) as db:
        slugs = {slug for (slug,) in db.execute("SELECT slug FROM entries")}
    assert "incident-commander" not in slugs and len(slugs) == 10


def test_an_edit_reads_the_outline_of_the_other_files_not_their_frontmatter(
    catalog: Path, tmp_path: Path, monkeypatch, trusted_times: None,
) -> None:
    from generator.catalog import frontmatter

    build_into(catalog, tmp_path / "site", True)
    decoded: list[object] = []
    front_matter_from_plain = frontmatter.front_matter_from_plain
    monkeypatch.setattr(frontmatter, "front_matter_from_plain", lambda plain: decoded.append(plain)
                        or front_matter_from_plain(plain))
    EDITS["body"](catalog)
    result = build_into(catalog, tmp_path / "site", True)
    assert result.cache is not None and result.cache.misses == 1
    assert decoded == [], "the plan, the order and the catalog's rules need each file's outline alone"
    replace_text(catalog / SEED, "name: senior-backend-engineer", "name: senior-backend-engineer-2")
    build_into(catalog, tmp_path / "site", True)
    assert len(decoded) == 2, "its neighbours' pages show its new name: rendered again from their frontmatter"
    assert tree(tmp_path / "site") == tree_of_cold_build(catalog, tmp_path / "cold")
    assert tree(tmp_path / "site") == tree_of_cold_build(catalog, tmp_path / "cold")


def test_readings_kept_by_the_cache_decode_their_frontmatter_in_the_main_thread_or_from_the_file(
    catalog: Path, tmp_path: Path, monkeypatch, trusted_times: None,
) -> None:
    """Pages the memo lost are rendered again in workers from readings the cache kept: their
    frontmatter is read before they are sent, and from the file when the cache lost it too."""
    import threading

    from generator.catalog import frontmatter

    build_into(catalog, tmp_path / "site", True)
    with sqlite3.connect(cache_database(catalog)) as db:
        db.execute("DELETE FROM pages")
        db.execute("DELETE FROM page_heads")
        first = db.execute("SELECT path FROM files ORDER BY path LIMIT 1").fetchone()[0]
        db.execute("DELETE FROM files WHERE path = ?", (first,))  # its head stays
    threads: set[str] = set()
    front_matter_from_plain = frontmatter.front_matter_from_plain
    monkeypatch.setattr(frontmatter, "front_matter_from_plain", lambda plain: threads.add(threading.current_thread().name)
                        or front_matter_from_plain(plain))
    monkeypatch.setattr(pages, "worker_count", lambda count: 2)
    shutil.rmtree(tmp_path / "site")
    result = build_into(catalog, tmp_path / "site", True)
    assert result.cache is not None and result.cache.misses == 11
    assert threads == {"MainThread"}
    assert tree(tmp_path / "site") == tree_of_cold_build(catalog, tmp_path / "cold")


def test_entry_parts_come_in_the_order_asked_for(tmp_path: Path) -> None:
    from generator.store.cache import BuildCache, BuildRecord

    cache = BuildCache.open(tmp_path / "cache", "fingerprint")
    assert cache is not None
    entries = {slug: (f"key {slug}", [f"card {slug}", f"object {slug}", f"line {slug}"]) for slug in ("b", "a", "c")}
    cache.record_build(BuildRecord("", "", None, entries=entries))
    assert list(cache.iter_entry_parts(1, ["c", "x", "a", "b"])) == [
        ("key c", "object c"), None, ("key a", "object a"), ("key b", "object b")]
    assert cache.get_entry_parts(2) == {slug: (f"key {slug}", f"line {slug}") for slug in "abc"}
    cache.close()


@pytest.mark.parametrize("kind", ["site_files", "site_pages"])
def test_the_site_files_are_stored_by_difference_only_from_what_the_cache_holds(tmp_path: Path, kind: str) -> None:
    """A build stores its site's files (and its pages' keys) by difference from those it read;
    should another build have recorded since it read them, it stores them all afresh."""
    from generator.store.cache import BuildCache, BuildRecord, StoredFiles

    def record(cache: BuildCache, files: dict[str, str], before: dict[str, str] | None) -> None:
        cache.record_build(BuildRecord("", "", None, **{kind: StoredFiles(files, before)}))

    def last(cache: BuildCache) -> dict[str, str]:
        return getattr(cache, f"last_{kind}")()

    first, second = BuildCache.open(tmp_path / "cache", "fingerprint"), BuildCache.open(tmp_path / "cache", "fingerprint")
    assert first is not None and second is not None
    record(first, {"a": "1", "b": "1", "c": "1"}, None)
    read = last(first)
    assert read == {"a": "1", "b": "1", "c": "1"}
    record(first, {"a": "2", "c": "1", "d": "1"}, read)
    assert last(second) == {"a": "2", "c": "1", "d": "1"}
    stale = last(first)
    record(second, {"e": "1"}, last(second))  # another build records in between
    record(first, {"a": "3", "c": "1"}, stale)
    assert last(first) == {"a": "3", "c": "1"}, "stored afresh, not over the other build's"
    first.close()
    second.close()


def test_a_damaged_entries_row_is_not_used(catalog: Path, tmp_path: Path) -> None:
    build_into(catalog, tmp_path / "site", True)
    with sqlite3.connect(cache_database(catalog)) as db:
        slug, key = db.execute("SELECT slug, key FROM entries LIMIT 1").fetchone()
        db.execute("UPDATE entries SET part_2 = ? WHERE slug = ?", ("{}", slug))  # a text without its row's name
    EDITS["body"](catalog)
    build_into(catalog, tmp_path / "site", True)
    assert tree(tmp_path / "site") == tree_of_cold_build(catalog, tmp_path / "cold")


def test_agents_kept_by_the_cache_are_read_whole_after_it_stopped_working(
    catalog: Path, tmp_path: Path, monkeypatch,
) -> None:
    """An agent read back from the cache reads the rest of itself when first asked: after the
    cache was switched off by an error, and after the build closed it, that still works."""
    from generator.store import cache

    build_into(catalog, tmp_path / "site", True)

    def locked(self: cache.BuildCache, *args: object) -> None:
        self.disabled = True  # as a "database is locked" on writing does

    monkeypatch.setattr(cache.BuildCache, "put_page", locked)
    EDITS["body"](catalog)
    build_into(catalog, tmp_path / "site", True)  # its feed reads the rest of agents it kept
    assert tree(tmp_path / "site") == tree_of_cold_build(catalog, tmp_path / "cold")
    monkeypatch.undo()
    build_into(catalog, tmp_path / "site", True)
    unchanged = build_into(catalog, tmp_path / "site", True)
    assert unchanged.unchanged, "the catalog of a build with nothing changed is read from the cache when asked"
    kept = [agent for agent in unchanged.catalog.agents if "_load_rest" in agent.__dict__]
    assert len(kept) == 11 and all(agent.summary_text for agent in kept), "read after the build closed the cache"


def test_the_cache_holds_plain_data_only(catalog: Path, tmp_path: Path) -> None:
    """Values are JSON text and the pages' HTML compressed: nothing that runs code when read."""
    import json
    import zlib

    build_into(catalog, tmp_path / "site", True)
    with sqlite3.connect(cache_database(catalog)) as db:
        for (reading,) in db.execute("SELECT reading FROM files"):
            json.loads(reading)
        for (head,) in db.execute("SELECT head FROM file_heads"):
            json.loads(head)
        for (head,) in db.execute("SELECT head FROM page_heads"):
            json.loads(head)
        for rest, html, terms in db.execute("SELECT rest, html, terms FROM pages"):
            json.loads(rest), json.loads(terms)
            assert zlib.decompress(html).startswith(b"<!doctype html>")
        for slug, key, *texts in db.execute("SELECT slug, key, part_1, part_2, part_3 FROM entries"):
            assert all(text.startswith(f"{slug} {key}\n") for text in texts), "the entries' texts as they are"
        for name, value in db.execute("SELECT name, value FROM state"):
            if name not in ("quick", "site", "site files", "site pages", "result"):  # digests, and random generations
                json.loads(value)
        for table in ("site_files", "site_pages"):
            files = db.execute(f"SELECT path, version FROM {table}").fetchall()
            assert files and all(isinstance(path, str) and isinstance(version, str) for path, version in files)
        pages = db.execute("SELECT place, file, key FROM result_pages").fetchall()
        assert pages and all(isinstance(place, int) and isinstance(file, str) and isinstance(key, str)
                             for place, file, key in pages)


def test_the_search_index_is_kept_as_a_row_per_chunk(catalog: Path, tmp_path: Path) -> None:
    """What every build rewrites stays small: the search index's chunks are rows of their own, so an
    edit reads and writes the chunks it changed, not the index."""
    site = tmp_path / "site"
    build_into(catalog, site, True)
    replace_text(catalog / SEED, "## Core Expertise", "## Core Expertise, edited")
    build_into(catalog, site, True)
    chunk_files = {path.name for path in (site / "search").iterdir()} - {"index.json", "pages"}
    with sqlite3.connect(cache_database(catalog)) as db:
        stored = {name for (name,) in db.execute("SELECT name FROM chunks")}
        (written,) = db.execute("SELECT value FROM state WHERE name = 'written'").fetchone()
        chunk_bytes = sum(length for (length,) in db.execute("SELECT length(value) FROM chunks"))
    assert stored == chunk_files, "every chunk of the site, and no chunk of an earlier build"
    strings = list(_strings(json.loads(written)))
    texts = [(site / "search" / name).read_text(encoding="utf-8") for name in chunk_files]
    assert all(text[1:60] not in string for text in texts for string in strings), \
        "the record of the site names the chunks; it does not hold them"
    assert len(written) < chunk_bytes / 2
    assert tree(site) == tree_of_cold_build(catalog, tmp_path / "cold")


def test_a_search_chunk_lost_from_the_cache_mid_edit_still_builds_every_page(catalog: Path, tmp_path: Path,
                                                                               monkeypatch) -> None:
    from generator.store.cache import BuildCache

    site = tmp_path / "site"
    build_into(catalog, site, True)
    replace_text(catalog / SEED, "## Core Expertise", "## Core Expertise, edited")
    replace_text(catalog / "operations/incident-commander.md", "## Communication", "## Communication, edited")
    monkeypatch.setattr(BuildCache, "get_chunk", lambda self, name: None)  # the rows went missing
    result = build_into(catalog, site, True)
    assert result.cache is not None and result.cache.misses == 2
    assert tree(site) == tree_of_cold_build(catalog, tmp_path / "cold")


def tree_of_cold_build(agents: Path, out: Path) -> dict[str, bytes]:
    build_into(agents, out, use_cache=False)
    return tree(out)


def test_a_locked_cache_does_not_fail_the_build(catalog: Path, tmp_path: Path) -> None:
    import sqlite3

    build_into(catalog, tmp_path / "site", True)
    holder = sqlite3.connect(cache_database(catalog), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        EDITS["body"](catalog)
        result = build_into(catalog, tmp_path / "site", True)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "Core Expertise, edited" in (tmp_path / "site/agents/senior-backend-engineer/index.html").read_text()
    assert result.report is not None


def test_library_versions_in_the_fingerprint_are_the_installed_ones() -> None:
    import importlib.metadata

    from generator.pipeline.fingerprint import (
        _RENDERING_LIBRARIES,
        _normalized,
        installed_versions,
    )

    versions = installed_versions()
    assert {name: versions.get(_normalized(name)) for name in _RENDERING_LIBRARIES} == {
        name: importlib.metadata.version(name) for name in _RENDERING_LIBRARIES}


def test_a_user_cache_folder_inside_the_repository_is_refused(tmp_path: Path, monkeypatch) -> None:
    """CI jobs often point XDG_CACHE_HOME (or HOME) into the checkout, where a commit could plant a cache."""
    repository = tmp_path / "repo"
    shutil.copytree(DEMO_AGENTS, repository / "docs/agents")
    (repository / ".git").mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(repository / ".cache"))
    result = build_into(repository / "docs/agents", tmp_path / "site", use_cache=True)
    assert result.cache is None and not (repository / ".cache").exists()
    assert (tmp_path / "site/index.html").is_file()


def test_a_cold_build_gives_back_its_agents_whole(catalog: Path, tmp_path: Path) -> None:
    """A cold build keeps each agent as the cache has it, its examples and sections read back when asked for."""
    without = build_into(catalog, tmp_path / "plain", use_cache=False).catalog.agents
    cached = build_into(catalog, tmp_path / "cached", use_cache=True).catalog.agents
    assert [agent.slug for agent in cached] == [agent.slug for agent in without]
    for kept, made in zip(cached, without):
        assert (kept.examples, kept.sections, kept.summary_text, kept.metadata) == (
            made.examples, made.sections, made.summary_text, made.metadata), kept.slug


def test_a_build_without_the_cache_keeps_nothing(catalog: Path, tmp_path: Path) -> None:
    """--no-cache runs the same pipeline over a scratch cache of its own, gone with the build."""
    result = build_into(catalog, tmp_path / "site", use_cache=False)
    assert result.cache is None and not result.unchanged
    assert not cache_database(catalog).exists(), "the user's cache is not made"
    first = tree(tmp_path / "site")
    again = build_into(catalog, tmp_path / "site", use_cache=False)
    assert not again.unchanged, "nothing is remembered"
    assert tree(tmp_path / "site") == first
    assert [agent.examples for agent in again.catalog.agents] == [agent.examples for agent in result.catalog.agents]
