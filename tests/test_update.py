"""Updates in place: after a small edit only the files that changed are replaced, and the site
still equals a cold build of the same catalog byte for byte."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import DEMO_AGENTS, write_agents
from test_cache import SEED, build_into, replace_text, stamps, tree

from generator import update
from generator.errors import SiteError
from generator.pages import PageWriter

SEED_PAGE = "agents/senior-backend-engineer/index.html"
# What a body edit may change besides the agent's page and raw file: its words, and its date
# (outside git a file is dated by its modification time).
DATED_AND_INDEXED = ("search/", "catalog.json", "feed.xml", "llms.txt")


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    shutil.copytree(DEMO_AGENTS, tmp_path / "agents")
    return tmp_path / "agents"


def file_stamps(folder: Path) -> dict[str, tuple[int, int]]:
    """Each file's inode and modification time: a replaced file gets a new inode."""
    return {path: stamp for path, stamp in stamps(folder).items() if (folder / path).is_file()}


def changed_files(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> set[str]:
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


def assert_equals_cold_build(catalog: Path, site: Path) -> None:
    build_into(catalog, site.parent / "cold", use_cache=False)
    assert tree(site) == tree(site.parent / "cold")


def test_a_body_edit_replaces_only_the_files_that_changed(catalog: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build_into(catalog, site, use_cache=True)
    before, folder = file_stamps(site), site.stat().st_ino
    replace_text(catalog / SEED, "## Core Expertise", "## Core Expertise\n\nNow with quokka wrangling.")
    result = build_into(catalog, site, use_cache=True)
    assert result.cache is not None and (result.cache.hits, result.cache.misses) == (10, 1)
    assert site.stat().st_ino == folder, "updated in place, not swapped"
    changed = changed_files(before, file_stamps(site))
    assert {SEED_PAGE, "agents/senior-backend-engineer.md"} <= changed
    assert all(path in (SEED_PAGE, "agents/senior-backend-engineer.md") or path.startswith(DATED_AND_INDEXED)
               for path in changed), changed
    assert "index.html" not in changed, "the cards did not change"
    assert_equals_cold_build(catalog, site)


def test_words_removed_and_added_reach_the_search_index(catalog: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build_into(catalog, site, use_cache=True)
    text = (catalog / SEED).read_text()
    body_start = text.index("## Core Expertise")
    (catalog / SEED).write_text(text[:body_start] + "## Only\n\nZebra.\n")
    build_into(catalog, site, use_cache=True)
    assert_equals_cold_build(catalog, site)


def test_removed_and_added_agents_are_updated_in_place(catalog: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build_into(catalog, site, use_cache=True)
    folder = site.stat().st_ino
    (catalog / "operations/incident-commander.md").unlink()
    (catalog / "operations/new-agent.md").write_text("---\nname: new-agent\ndescription: New.\n---\n\n## Role\n\nNew.\n")
    build_into(catalog, site, use_cache=True)
    assert site.stat().st_ino == folder
    assert not (site / "agents/incident-commander").exists() and not (site / "agents/incident-commander.md").exists()
    assert (site / "agents/new-agent/index.html").is_file()
    assert_equals_cold_build(catalog, site)


def test_an_error_while_rendering_leaves_the_site_as_it_was(catalog: Path, tmp_path: Path, monkeypatch) -> None:
    site = tmp_path / "site"
    build_into(catalog, site, use_cache=True)
    before, content = stamps(site), tree(site)
    replace_text(catalog / SEED, "## Core Expertise", "## Core Expertise, edited")
    (catalog / "operations/incident-commander.md").unlink()

    def fail(self: PageWriter, plan: object) -> None:
        raise SiteError(None, 0, "internal error while rendering this agent")

    monkeypatch.setattr(PageWriter, "render", fail)
    with pytest.raises(SiteError):
        build_into(catalog, site, use_cache=True)
    assert stamps(site) == before and tree(site) == content


def test_a_site_changed_by_hand_is_rebuilt_whole(catalog: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build_into(catalog, site, use_cache=True)
    folder = site.stat().st_ino
    with (site / "agents/incident-commander/index.html").open("a") as page:
        page.write("<!-- edited by hand -->")
    replace_text(catalog / SEED, "## Core Expertise", "## Core Expertise, edited")
    build_into(catalog, site, use_cache=True)
    assert site.stat().st_ino != folder, "the whole site was written aside and swapped in"
    assert_equals_cold_build(catalog, site)


def test_many_pages_to_render_take_the_full_way(catalog: Path, tmp_path: Path, monkeypatch) -> None:
    site = tmp_path / "site"
    build_into(catalog, site, use_cache=True)
    folder = site.stat().st_ino
    monkeypatch.setattr(update, "MAX_PAGES", 0)
    replace_text(catalog / SEED, "## Core Expertise", "## Core Expertise, edited")
    build_into(catalog, site, use_cache=True)
    assert site.stat().st_ino != folder
    assert_equals_cold_build(catalog, site)


def test_a_build_into_another_folder_does_not_update_this_one(catalog: Path, tmp_path: Path) -> None:
    build_into(catalog, tmp_path / "site", use_cache=True)
    build_into(catalog, tmp_path / "other", use_cache=True)
    replace_text(catalog / SEED, "## Core Expertise", "## Core Expertise, edited")
    build_into(catalog, tmp_path / "site", use_cache=True)
    assert_equals_cold_build(catalog, tmp_path / "site")
    os.utime(catalog / SEED)
    build_into(catalog, tmp_path / "other", use_cache=True)
    assert_equals_cold_build(catalog, tmp_path / "other")


def test_a_file_changed_while_building_is_named_and_nothing_is_written(catalog: Path, tmp_path: Path, monkeypatch) -> None:
    render = PageWriter.render

    def edit_then_render(self: PageWriter, plan):  # the file changes after it was checked
        if plan.raw.rel_path.as_posix() == SEED:
            (catalog / SEED).write_text((catalog / SEED).read_text() + "\nA late edit.\n")
        return render(self, plan)

    monkeypatch.setattr(PageWriter, "render", edit_then_render)
    with pytest.raises(SiteError, match="senior-backend-engineer.md:1: error: the file changed while the site was being built"):
        build_into(catalog, tmp_path / "site", use_cache=False)
    assert not (tmp_path / "site").exists()


def test_a_failed_build_between_leaves_no_stale_link_for_the_update(tmp_path: Path, monkeypatch) -> None:
    agents = write_agents(tmp_path, {
        "alpha.md": "---\nname: alpha\ndescription: A.\n---\n\n## Role\n\nSee [b](b.md).\n",
        "b.md": "---\nname: beta\ndescription: B.\n---\n\n## Role\n\nB.\n",
        "zulu.md": "---\nname: zulu\ndescription: Z.\n---\n\n## Role\n\nZ.\n",
    })
    site = tmp_path / "site"
    build_into(agents, site, use_cache=True)
    replace_text(agents / "b.md", "name: beta", "name: bravo")  # alpha's link now leads to bravo
    render = PageWriter.render

    def fail_on_zulu(self: PageWriter, plan):  # alpha is rendered and cached, then the build fails
        if plan.slug == "zulu":
            raise SiteError(None, 0, "internal error")
        return render(self, plan)

    with monkeypatch.context() as patch:
        patch.setattr(update, "MAX_PAGES", 0)
        patch.setattr(PageWriter, "render", fail_on_zulu)
        with pytest.raises(SiteError):
            build_into(agents, site, use_cache=True)
    build_into(agents, site, use_cache=True)
    assert_equals_cold_build(agents, site)


def test_compiled_templates_are_not_reused_by_other_code(catalog: Path, tmp_path: Path, monkeypatch) -> None:
    from generator import cache, render

    site = tmp_path / "site"
    build_into(catalog, site, use_cache=True)
    make_environment, fingerprint = render.make_environment, cache.make_fingerprint

    def other_options(config, compiled=None):  # a newer agentpages whose templates render otherwise
        env = make_environment(config, compiled)
        env.lstrip_blocks = False
        return env

    monkeypatch.setattr(render, "make_environment", other_options)
    monkeypatch.setattr(cache, "make_fingerprint", lambda config: "newer " + fingerprint(config))
    replace_text(catalog / SEED, "## Core Expertise", "## Core Expertise, edited")
    build_into(catalog, site, use_cache=True)
    assert_equals_cold_build(catalog, site)
