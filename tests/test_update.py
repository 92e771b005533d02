"""Updates in place: after a small edit only the files that changed are replaced, and the site
still equals a cold build of the same catalog byte for byte."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import DEMO_AGENTS, write_agents
from test_cache import SEED, build_into, replace_text, stamps, tree

from generator.errors import SiteError
from generator.pipeline import pages
from generator.pipeline.pages import PageWriter
from generator.store import output, site_folder

SEED_PAGE = "agents/senior-backend-engineer/index.html"
# What a body edit may change besides the agent's page and raw file: its words, and its date
# (outside git a file is dated by its modification time).
DATED_AND_INDEXED = ("search/", "catalog.json", "feed.xml")


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
    assert "llms.txt" not in changed, "no agent's line in it changed"
    assert_equals_cold_build(catalog, site)


def test_a_description_edit_reaches_llms_txt_and_the_index(catalog: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build_into(catalog, site, use_cache=True)
    before = file_stamps(site)
    replace_text(catalog / SEED, "description: ", "description: Wrangles quokkas. ")
    build_into(catalog, site, use_cache=True)
    assert {"llms.txt", "index.html"} <= changed_files(before, file_stamps(site))
    assert "Wrangles quokkas." in (site / "llms.txt").read_text()
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


def test_an_update_keeps_the_stamp_of_the_site_a_fresh_scan_would_give(catalog: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build_into(catalog, site, use_cache=True)
    (catalog / "operations/incident-commander.md").unlink()
    (catalog / "operations/new-agent.md").write_text("---\nname: new-agent\ndescription: New.\n---\n\n## Role\n\nNew.\n")
    replace_text(catalog / SEED, "## Core Expertise", "## Core Expertise\n\nNow with quokka wrangling.")
    folder = site.stat().st_ino
    build_into(catalog, site, use_cache=True)
    assert site.stat().st_ino == folder, "updated in place"
    again = build_into(catalog, site, use_cache=True)
    assert again.unchanged, "the stamp recorded after the update is the site's own"


def test_a_site_that_could_not_be_looked_at_again_is_never_taken_as_unchanged(
    catalog: Path, tmp_path: Path, monkeypatch
) -> None:
    site = tmp_path / "site"
    build_into(catalog, site, use_cache=True)
    replace_text(catalog / SEED, "## Core Expertise", "## Core Expertise, edited")
    refused: list[str] = []

    def unreadable(folder: Path, *rest: object) -> set[str]:
        refused.append(str(folder))
        raise PermissionError(13, "Permission denied", str(folder))

    # The folders an update changed are listed after it, a full build's output folder walked.
    monkeypatch.setattr(site_folder, "_listed", unreadable)
    monkeypatch.setattr(site_folder, "_describe_folder", unreadable)
    build_into(catalog, site, use_cache=True)  # updated in place, then its files unknown
    assert refused, "the update looked at the folders it changed"
    monkeypatch.undo()
    shutil.rmtree(site)
    build_into(catalog, site, use_cache=True)  # nothing changed since, but the site is gone
    assert_equals_cold_build(catalog, site)
    monkeypatch.setattr(site_folder, "_listed", unreadable)
    monkeypatch.setattr(site_folder, "_describe_folder", unreadable)
    refused.clear()
    replace_text(catalog / SEED, "## Core Expertise, edited", "## Core Expertise, edited twice")
    build_into(catalog, site, use_cache=True)
    assert refused, "the build looked at the folder it wrote"
    monkeypatch.undo()
    shutil.rmtree(site)
    replace_text(catalog / SEED, "## Core Expertise, edited twice", "## Core Expertise, edited thrice")
    build_into(catalog, site, use_cache=True)  # an edit since, and the site is gone
    assert_equals_cold_build(catalog, site)


def test_site_files_looked_at_again_equal_a_fresh_scan(tmp_path: Path) -> None:
    site = tmp_path / "site"
    first = output.SiteWriter(site, None)
    for path in ("index.html", "agents/a/index.html", "agents/a.md", "agents/b/index.html", "agents/b.md", "search/1.json"):
        first.add(path, path)
    first.commit()
    files = site_folder.SiteFiles(site)
    before = files.stamp()
    second = output.SiteWriter(site, first.versions)
    for path in ("agents/a/index.html", "agents/a.md"):
        second.add(path, path)  # unchanged: left alone
    second.add("index.html", "changed")
    second.add("search/2.json", "new")
    second.add("agents/c/index.html", "new page")
    assert files.stamp() == before and not (site / "search/2.json").exists(), "nothing is in place before the commit"
    changed = second.commit()
    assert changed == ["agents/b.md", "agents/b/index.html", "agents/c/index.html", "index.html", "search/1.json", "search/2.json"]
    assert not (site / "agents/b").exists(), "the folder of a removed page goes too"
    files.look_again(changed)
    assert files.stamp() == site_folder.SiteFiles(site).stamp() != before
    third = output.SiteWriter(site, second.versions)
    third.add("agents/c/index.html", "changed page")
    (site / "agents/c/stray.html").write_text("added by hand while the site was written")
    files.look_again(third.commit())
    assert files.layout() is None, "a folder the writer changed holds a file nobody named: unknown"
    assert files.stamp().startswith("unknown"), "it passes for no site a build left"
    nowhere = site_folder.SiteFiles(tmp_path / "nowhere")
    assert nowhere.stamp() == nowhere.stamp() != site_folder.SiteFiles(tmp_path / "nowhere").stamp(), "matches no other"


def test_site_files_by_their_last_layout_see_what_was_changed_by_hand(tmp_path: Path) -> None:
    site = tmp_path / "site"
    writer = output.SiteWriter(site, None)
    for path in ("index.html", "agents/a/index.html", "agents/a.md", "search/1.json"):
        writer.add(path, path)
    writer.commit()
    scanned = site_folder.SiteFiles(site)
    layout = scanned.layout()
    assert layout == ["", "agents/", "agents/a.md", "agents/a/", "agents/a/index.html", "index.html",
                      "search/", "search/1.json"]
    assert site_folder.SiteFiles(site, layout).stamp() == scanned.stamp(), "the same folder, the same stamp"
    by_hand = [
        lambda: (site / "agents/a/extra.html").write_text("added"),
        lambda: (site / "agents/a/new").mkdir(),
        lambda: (site / "agents/a.md").write_text("agents/a.md"),  # the same bytes, written again
        lambda: (site / "search/1.json").unlink(),
        lambda: (site / "stray.txt").write_text("added at the top"),
    ]
    for change in by_hand:
        before = site_folder.SiteFiles(site).stamp()
        change()
        assert site_folder.SiteFiles(site, layout).stamp() != before
        layout = site_folder.SiteFiles(site).layout()
    link = tmp_path / "link-to-site"
    link.symlink_to(site)
    through_link = site_folder.SiteFiles(link).layout()
    assert through_link == layout, "--out naming a link: the folder it leads to"
    before = site_folder.SiteFiles(link, through_link).stamp()
    (site / "another-stray.txt").write_text("added at the top")
    assert site_folder.SiteFiles(link, through_link).stamp() != before


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


def test_many_pages_rendered_in_workers_still_replace_only_what_changed(catalog: Path, tmp_path: Path, monkeypatch) -> None:
    site = tmp_path / "site"
    build_into(catalog, site, use_cache=True)
    folder, before = site.stat().st_ino, file_stamps(site)
    monkeypatch.setattr(pages, "worker_count", lambda count: 2)
    (catalog.parent / "agentpages.yml").write_text("title: Renamed catalog\n")  # every page shows the title
    result = build_into(catalog, site, use_cache=True)
    assert result.cache is not None and result.cache.misses == 11
    assert site.stat().st_ino == folder, "updated in place, not swapped"
    changed = changed_files(before, file_stamps(site))
    assert "index.html" in changed and "agents/senior-backend-engineer/index.html" in changed
    assert "assets/style.css" not in changed and "agents/senior-backend-engineer.md" not in changed
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
        patch.setattr(PageWriter, "render", fail_on_zulu)
        with pytest.raises(SiteError):
            build_into(agents, site, use_cache=True)
    build_into(agents, site, use_cache=True)
    assert_equals_cold_build(agents, site)


def test_pages_are_not_reused_by_other_code(catalog: Path, tmp_path: Path, monkeypatch) -> None:
    from generator.pipeline import memo
    from generator.site import render

    site = tmp_path / "site"
    build_into(catalog, site, use_cache=True)
    make_environment, fingerprint = render.make_environment, memo.make_fingerprint

    def other_options(config):  # a newer agentpages whose templates render otherwise
        env = make_environment(config)
        env.lstrip_blocks = False
        return env

    monkeypatch.setattr(render, "make_environment", other_options)
    monkeypatch.setattr(memo, "make_fingerprint", lambda config: "newer " + fingerprint(config))
    replace_text(catalog / SEED, "## Core Expertise", "## Core Expertise, edited")
    build_into(catalog, site, use_cache=True)
    assert_equals_cold_build(catalog, site)


def test_entries_are_reused_only_under_the_same_key_for_agents_not_made_afresh(catalog: Path, tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from generator.catalog.history import FileDates
    from generator.config import load_config
    from generator.site.entries import AgentEntries, EntryKeys, EntryRenderer
    from generator.site.render import make_environment, make_site_context

    config = load_config(catalog, tmp_path / "site")
    agents = build_into(catalog, config.out_dir, use_cache=False).catalog
    first, second, third = agents.agents[:3]
    when = datetime(2025, 1, 1, tzinfo=timezone.utc)
    dates = {agent.path: FileDates(when, when) for agent in agents.agents}
    keys = EntryKeys({agent.slug: f"key of {agent.slug}" for agent in agents.agents}, frozenset({second.slug}))
    planted = AgentEntries("<li>planted</li>", "{}", "- planted")
    last_key = f"key of {first.slug} {when.timestamp()} {when.timestamp()}"
    stored = {agent.slug: (last_key.replace(first.slug, agent.slug), planted) for agent in (first, second)}
    stored[third.slug] = (f"key of {third.slug} 0.0 0.0", planted)  # rendered when the file had other dates

    renderer = EntryRenderer(make_environment(config), make_site_context(config), dates, keys, stored)
    entries = renderer.render(agents)
    assert entries[first.slug] == planted, "same key: reused"
    assert entries[second.slug] != planted, "made afresh: rendered"
    assert entries[third.slug] != planted, "other dates: rendered"
    assert set(renderer.changes.rendered) == {agent.slug for agent in agents.agents} - {first.slug}
    assert renderer.changes.slugs == {agent.slug for agent in agents.agents}
    assert EntryRenderer(make_environment(config), make_site_context(config), dates).render(agents)[first.slug] != planted


def test_an_edit_asks_the_memo_for_the_edited_page_alone(catalog: Path, tmp_path: Path, monkeypatch) -> None:
    """The work of an edit follows what changed: unchanged pages come from the last build's
    catalog and search index, read once, not from one memo row each."""
    from generator.pipeline.memo import Memo

    site = tmp_path / "site"
    build_into(catalog, site, use_cache=True)
    asked: list[str] = []
    get, get_terms = Memo.get, Memo.get_terms
    monkeypatch.setattr(Memo, "get", lambda self, plan, *a, **k: asked.append(plan.slug) or get(self, plan, *a, **k))
    monkeypatch.setattr(Memo, "get_terms", lambda self, plan, key: asked.append(plan.slug) or get_terms(self, plan, key))
    replace_text(catalog / SEED, "## Core Expertise", "## Core Expertise, edited")
    build_into(catalog, site, use_cache=True)
    assert set(asked) == {"senior-backend-engineer"}, asked
    assert_equals_cold_build(catalog, site)


@pytest.mark.parametrize("kernel_copies", [True, False])
def test_a_spliced_file_is_the_old_ones_bytes_around_the_new_texts(tmp_path: Path, monkeypatch, kernel_copies: bool) -> None:
    copies: list[int] = []
    if kernel_copies:
        copy_file_range = os.copy_file_range
        monkeypatch.setattr(output.os, "copy_file_range", lambda *args: copies.append(args[2]) or copy_file_range(*args))
    else:
        monkeypatch.delattr(output.os, "copy_file_range", raising=False)  # another system: read and written
    site = tmp_path / "site"
    first = output.SiteWriter(site, None)
    old = "[«α»,«β»,«γ»]".encode()
    first.add("catalog.json", old)
    first.commit()
    second = output.SiteWriter(site, first.versions)
    alpha, gamma = len("[".encode()), len("[«α»,«β»,".encode())
    splices = [output.Splice(range(alpha, alpha + len("«α»".encode())), "«α»".encode(), "«new ä»"),
               output.Splice(range(gamma, len(old)), "«γ»]".encode(), "«γγ»]")]
    second.add_spliced("catalog.json", splices, len(old))
    for wrong in ([output.Splice(range(alpha, alpha + 2), b"xx", "")], [output.Splice(range(len(old), len(old) + 1), b"]", "")]):
        with pytest.raises(ValueError, match="does not hold what it is spliced"):
            second.add_spliced("catalog.json", wrong, len(old))
    with pytest.raises(ValueError, match="is not 5 bytes long"):
        second.add_spliced("catalog.json", [], 5)
    with pytest.raises(ValueError, match="not a file of the site"):
        second.add_spliced("other.json", [], 0)
    assert (site / "catalog.json").read_bytes() == old, "nothing is in place before the commit"
    assert second.commit() == ["catalog.json"]
    assert (site / "catalog.json").read_text() == "[«new ä»,«β»,«γγ»]"
    assert second.versions["catalog.json"] != first.versions["catalog.json"]
    assert sum(copies) == (len(old) - len("«α»«γ»]".encode()) if kernel_copies else 0), "the kernel copied the rest"


def test_a_replaced_part_is_found_once_or_nothing_is_staged(tmp_path: Path) -> None:
    site = tmp_path / "site"
    first = output.SiteWriter(site, None)
    first.add("index.html", "<li a>old</li>\n<li b>same</li>\n<li c>same</li>\n<li d>last</li>\n")
    first.add("empty.txt", "")
    first.commit()
    second = output.SiteWriter(site, first.versions)
    for wrong in ([(b"same</li>", "x")], [(b"<li b>sane</li>", "x")], [(b"", "x")]):
        with pytest.raises(ValueError, match="does not hold its old part once"):
            second.add_replaced("index.html", wrong)
    with pytest.raises(ValueError, match="does not hold what it is spliced"):  # two parts that overlap
        second.add_replaced("index.html", [(b"<li a>old</li>", "x"), (b"old</li>\n<li b>", "y")])
    with pytest.raises(ValueError, match="is empty"):
        second.add_replaced("empty.txt", [(b"x", "y")])
    assert not list(site.parent.glob("**/*.partial")), "nothing is left half made"
    second.add_replaced("index.html", [(b"<li d>last</li>", "<li d>néw</li>"), (b"<li a>old</li>", "<li a>new, longer</li>")])
    second.keep("empty.txt", first.versions["empty.txt"])
    assert second.commit() == ["index.html"]
    assert (site / "index.html").read_text() == "<li a>new, longer</li>\n<li b>same</li>\n<li c>same</li>\n<li d>néw</li>\n"


def test_a_range_the_kernel_copies_nothing_of_is_read_and_written(tmp_path: Path, monkeypatch) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    source.write_bytes(b"0123456789")
    monkeypatch.setattr(output.os, "copy_file_range", lambda *args: 0)  # a file system that copies nothing this way
    with source.open("rb", buffering=0) as reading, target.open("wb", buffering=0) as writing:
        output._copy_range(reading, writing, range(2, 8))
        with pytest.raises(OSError, match="shorter"):
            output._copy_range(reading, writing, range(8, 12))
    assert target.read_bytes().startswith(b"234567")
