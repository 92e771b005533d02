"""Publishing: links that hold under any sub-path and on disk, and the files machines read."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import cmarkgfm
import jsonschema
import pytest
from conftest import CORPORA, DEMO_AGENTS, build_catalog, parse_html, write_agents
from linkcheck import check_files, check_not_found_page, crawl_http, serve_under
from lxml import etree

from generator.catalog.history import read_file_dates
from generator.commands.cli import main
from generator.config import load_config
from generator.errors import ConfigError, Report
from generator.pipeline.build import build
from generator.site.publish import SCHEMA_PATH

SUB_PATH = "/some/sub/path/"
CORPUS_CATALOGS = sorted(p for p in CORPORA.iterdir() if p.is_dir()) if CORPORA.is_dir() else []
CATALOGS = [
    DEMO_AGENTS,
    *CORPUS_CATALOGS,
    *([] if CORPUS_CATALOGS else [pytest.param(None, marks=pytest.mark.skip(reason="../shared/corpora is not beside this checkout"))]),
]
ATOM = {"a": "http://www.w3.org/2005/Atom"}
SITEMAP = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
AGENT = "---\nname: {name}\ndescription: Does {name} things.\n---\n\n## Role\n\nWorks.\n"


@pytest.mark.parametrize("catalog", CATALOGS, ids=lambda p: p.name if p else "corpora")
def test_no_broken_link_under_a_sub_path_or_on_disk(catalog: Path, tmp_path: Path) -> None:
    shutil.copytree(catalog, tmp_path / "agents")
    (tmp_path / "site").mkdir()
    with serve_under(tmp_path / "site", SUB_PATH) as base:
        build(load_config(tmp_path / "agents", tmp_path / "site", site_url=base), Report())
        served = crawl_http(base)
        missing_page = check_not_found_page(base + "no/such/agent/", base)
    assert not served.broken, served.broken[:10]
    agents = len(list((tmp_path / "site/agents").glob("*/index.html")))
    assert sum(url.endswith("/index.html") and "/agents/" in url for url in served.visited) == agents
    assert not missing_page.broken, missing_page.broken[:10]

    build(load_config(tmp_path / "agents", tmp_path / "site"), Report())
    on_disk = check_files(tmp_path / "site")
    assert not on_disk.broken, on_disk.broken[:10]
    validate_catalog_json(tmp_path / "site")


def validate_catalog_json(site: Path) -> dict:
    """Check catalog.json against its schema and against the site: it lists every page there is."""
    catalog = json.loads((site / "catalog.json").read_text())
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(catalog)
    base = catalog["site_url"] or ""

    def file_of(address: str) -> str:
        path = address.removeprefix(base)
        return path + "index.html" if path.endswith("/") else path

    listed = {file_of(agent["url"]) for agent in catalog["agents"]}
    on_disk = {p.relative_to(site).as_posix() for p in site.glob("agents/*/index.html")}
    assert listed == on_disk
    for agent in catalog["agents"]:
        assert file_of(agent["url"]) == f"agents/{agent['slug']}/index.html"
        assert (site / file_of(agent["raw_url"])).is_file()
    return catalog


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo catalog built as GitHub Pages would publish it under a project path."""
    root = tmp_path_factory.mktemp("published")
    shutil.copytree(DEMO_AGENTS, root / "agents")
    (root / "agentpages.yml").write_text("title: Demo\nsite_url: https://me.github.io/catalog\n")
    build_catalog(root / "agents")
    return root / "site"


def test_catalog_json_follows_its_schema_and_lists_every_page(published: Path) -> None:
    catalog = json.loads((published / "catalog.json").read_text())
    schema = json.loads((published / "catalog.schema.json").read_text())
    assert schema == json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(catalog)

    assert catalog["$schema"] == "https://me.github.io/catalog/catalog.schema.json"
    pages = {p.parent.name for p in (published / "agents").glob("*/index.html")}
    assert [agent["slug"] for agent in catalog["agents"]] and {a["slug"] for a in catalog["agents"]} == pages
    for agent in catalog["agents"]:
        page = published / urlsplit(agent["url"]).path.removeprefix("/catalog/") / "index.html"
        raw = published / urlsplit(agent["raw_url"]).path.removeprefix("/catalog/")
        assert page.is_file() and raw.is_file(), agent["slug"]
        ids = set(parse_html(page).xpath("//@id"))
        assert {s["id"] for s in agent["sections"]} <= ids
        assert raw.read_text().startswith("---\n")


def test_catalog_json_carries_the_seed_agent_whole(published: Path) -> None:
    catalog = json.loads((published / "catalog.json").read_text())
    (seed,) = [a for a in catalog["agents"] if a["slug"] == "senior-backend-engineer"]
    assert seed["color"]["tone"] == "purple" and seed["model"] == "inherit"
    assert seed["category"] == "Engineering" and seed["source_path"] == "engineering/senior-backend-engineer.md"
    assert len(seed["examples"]) == 5 and seed["examples"][0]["title"] == "API Design"
    assert [t["role"] for t in seed["examples"][0]["turns"]] == ["user", "assistant"]
    assert [s["title"] for s in seed["sections"]][:2] == ["Core Expertise", "Working Methodology"]
    assert seed["sections"][0]["children"], "### headings nest under their ##"


def test_schema_rejects_a_catalog_missing_a_field(published: Path) -> None:
    catalog = json.loads((published / "catalog.json").read_text())
    del catalog["agents"][0]["raw_url"]
    schema = json.loads(SCHEMA_PATH.read_text())
    with pytest.raises(jsonschema.ValidationError, match="raw_url"):
        jsonschema.validate(catalog, schema)


def test_llms_txt_lists_every_agent_with_its_raw_file(published: Path) -> None:
    lines = (published / "llms.txt").read_text().splitlines()
    assert lines[0] == "# Demo" and lines[2].startswith("> ")
    headings = [line[3:] for line in lines if line.startswith("## ")]
    assert headings == ["Engineering", "Operations"]
    links = [line for line in lines if line.startswith("- [")]
    assert len(links) == len(list((published / "agents").glob("*.md")))
    assert "- [senior-backend-engineer](https://me.github.io/catalog/agents/senior-backend-engineer.md): Use this" in (
        published / "llms.txt"
    ).read_text()


def test_sitemap_robots_and_canonical_links_use_the_site_url(published: Path) -> None:
    sitemap = etree.parse(str(published / "sitemap.xml"))
    locations = sitemap.xpath("//s:loc/text()", namespaces=SITEMAP)
    pages = sorted(p.parent.name for p in (published / "agents").glob("*/index.html"))
    assert locations[0] == "https://me.github.io/catalog/"
    assert sorted(locations[1:]) == [f"https://me.github.io/catalog/agents/{slug}/" for slug in pages]
    assert all(len(date) == 20 for date in sitemap.xpath("//s:lastmod/text()", namespaces=SITEMAP))
    assert not (published / "robots.txt").exists(), "crawlers read robots.txt only at a host's root"
    for slug in pages:
        page = parse_html(published / "agents" / slug / "index.html")
        assert page.xpath("//link[@rel='canonical']/@href") == [f"https://me.github.io/catalog/agents/{slug}/"]
    index = parse_html(published / "index.html")
    assert index.xpath("//link[@rel='canonical']/@href") == ["https://me.github.io/catalog/"]
    assert index.xpath("//link[@type='application/atom+xml']/@href") == ["feed.xml"]
    assert (published / ".nojekyll").is_file() and (published / "404.html").is_file()
    assert not (published / "CNAME").exists()


def test_without_a_site_url_there_is_no_sitemap_and_addresses_are_relative(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"a.md": AGENT.format(name="a")})
    build_catalog(agents)
    site = tmp_path / "site"
    assert not (site / "sitemap.xml").exists() and not (site / "robots.txt").exists()
    catalog = json.loads((site / "catalog.json").read_text())
    assert catalog["site_url"] is None and catalog["$schema"] == "catalog.schema.json"
    assert (catalog["agents"][0]["url"], catalog["agents"][0]["raw_url"]) == ("agents/a/index.html", "agents/a.md")
    assert not parse_html(site / "agents/a/index.html").xpath("//link[@rel='canonical']")


def test_cname_is_written_and_implies_the_site_url(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"a.md": AGENT.format(name="a")})
    (tmp_path / "agentpages.yml").write_text("cname: agents.example.com\n")
    build_catalog(agents)
    assert (tmp_path / "site/CNAME").read_text() == "agents.example.com\n"
    assert "Sitemap: https://agents.example.com/sitemap.xml" in (tmp_path / "site/robots.txt").read_text()


def test_a_cname_that_is_not_a_host_name_is_refused(tmp_path: Path) -> None:
    write_agents(tmp_path, {"a.md": AGENT.format(name="a")})
    (tmp_path / "agentpages.yml").write_text("title: x\ncname: https://agents.example.com/\n")
    with pytest.raises(ConfigError, match=r"agentpages.yml:2: error: 'cname' must be a host name"):
        load_config(tmp_path / "agents", tmp_path / "site")


def test_site_url_from_the_command_line_or_the_environment(tmp_path: Path, monkeypatch, capsys) -> None:
    agents = write_agents(tmp_path, {"a.md": AGENT.format(name="a")})
    (tmp_path / "agentpages.yml").write_text("site_url: https://old.example.org/\n")
    monkeypatch.setenv("AGENTPAGES_SITE_URL", "https://me.github.io/env/")
    assert main(["build", "--agents", str(agents), "--out", str(tmp_path / "site")]) == 0
    assert sitemap_root(tmp_path / "site") == "https://me.github.io/env/"
    assert main(["build", "--agents", str(agents), "--out", str(tmp_path / "site"), "--site-url", "https://cli.example.org/x/"]) == 0
    assert sitemap_root(tmp_path / "site") == "https://cli.example.org/x/"
    monkeypatch.setenv("AGENTPAGES_SITE_URL", "")  # a pull request's build: no address, the file's stays
    assert main(["build", "--agents", str(agents), "--out", str(tmp_path / "site")]) == 0
    assert sitemap_root(tmp_path / "site") == "https://old.example.org/"
    capsys.readouterr()
    assert main(["build", "--agents", str(agents), "--out", str(tmp_path / "site"), "--site-url", "me.github.io"]) == 2
    assert capsys.readouterr().err == "error: the site URL must start with https:// or http://, not 'me.github.io'\n"


def sitemap_root(site: Path) -> str:
    return etree.parse(str(site / "sitemap.xml")).xpath("//s:loc/text()", namespaces=SITEMAP)[0]


def test_schema_checks_dates_and_types(published: Path) -> None:
    catalog = json.loads((published / "catalog.json").read_text())
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()), format_checker=jsonschema.FormatChecker())
    catalog["agents"][0]["updated"] = "last tuesday"
    assert any(error.validator == "format" for error in validator.iter_errors(catalog))
    catalog["agents"][0]["updated"] = None
    catalog["agents"][0]["tools"] = "Read"
    assert [error.validator for error in validator.iter_errors(catalog)] == ["type"]


def test_hostile_text_cannot_break_or_inject_into_the_machine_files(tmp_path: Path) -> None:
    from test_hostile import make_hostile_catalog

    agents = make_hostile_catalog(tmp_path)
    (agents.parent / "agentpages.yml").write_text("site_url: https://agents.example.org/\n")
    build_catalog(agents)
    site = agents.parent / "site"
    validate_catalog_json(site)
    for name in ("feed.xml", "sitemap.xml"):
        etree.parse(str(site / name), etree.XMLParser(recover=False))  # raises on any invalid character
    feed_text = (site / "feed.xml").read_text()
    assert "\x1b" not in feed_text and "\x0c" not in feed_text
    llms = (site / "llms.txt").read_text()
    assert not any(ord(c) < 32 and c != "\n" for c in llms)
    rendered = parse_html(cmarkgfm.github_flavored_markdown_to_html(llms))
    # Every link is ours: an address, a www. name or an e-mail address in a summary shows as code.
    links = [(a.get("href"), "".join(a.itertext())) for a in rendered.iter("a")]
    ours = [href for href, text in links if href.startswith("https://agents.example.org/") and href.endswith((".md", ".json"))]
    assert len(ours) == len(links) > 10, links
    assert rendered.xpath("//svg | //b | //img | //script") == []
    (item,) = [li for li in rendered.xpath("//li") if "breakout" in "".join(li.itertext()) and "evil" in "".join(li.itertext())]
    assert item.xpath("a/@href")[0] == "https://agents.example.org/agents/breakout-2j-https-evil-example-owned-md.md"
    assert "".join(item.xpath("a")[0].itertext()) == "breakout[2J \\](https://evil.example/owned.md) \\["


# -- the feed and the dates behind it ------------------------------------------------------


def git(folder: Path, *args: str, date: str | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@example.org",
           "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@example.org"}
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, env=env)


@pytest.fixture
def dated_catalog(tmp_path: Path) -> Path:
    """A catalog in git: old.md from 2024, changed.md added in 2024 and changed in 2025, new.md untracked."""
    agents = write_agents(tmp_path, {"old.md": AGENT.format(name="old"), "changed.md": AGENT.format(name="changed")})
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "first", date="2024-03-01T10:00:00Z")
    (agents / "changed.md").write_text(AGENT.format(name="changed") + "More.\n")
    git(tmp_path, "commit", "-qam", "second", date="2025-05-01T10:00:00Z")
    (agents / "new.md").write_text(AGENT.format(name="new"))
    os.utime(agents / "new.md", (1_780_000_000, 1_780_000_000))  # 2026-05-28T20:26:40Z
    return agents


def test_each_page_says_when_its_file_last_changed(dated_catalog: Path) -> None:
    build_catalog(dated_catalog)
    site = dated_catalog.parent / "site"
    shown = {name: parse_html(site / f"agents/{name}/index.html").xpath("//*[@class='updated']/time/@datetime")
             for name in ("old", "changed", "new")}
    assert shown == {"old": ["2024-03-01"], "changed": ["2025-05-01"], "new": ["2026-05-28"]}
    (dated_catalog / "old.md").write_text(AGENT.format(name="old") + "Edited.\n")
    git(dated_catalog.parent, "commit", "-qam", "third", date="2026-01-02T10:00:00Z")
    build_catalog(dated_catalog)  # a warm build takes the new date
    assert parse_html(site / "agents/old/index.html").xpath("//*[@class='updated']/time/@datetime") == ["2026-01-02"]


def test_feed_orders_agents_by_last_commit_with_uncommitted_files_by_their_time(dated_catalog: Path) -> None:
    build_catalog(dated_catalog)
    feed = etree.parse(str(dated_catalog.parent / "site/feed.xml"))
    entries = feed.xpath("/a:feed/a:entry", namespaces=ATOM)
    dates = [(e.findtext("a:title", namespaces=ATOM), e.findtext("a:published", namespaces=ATOM),
              e.findtext("a:updated", namespaces=ATOM)) for e in entries]
    assert dates == [
        ("new", "2026-05-28T20:26:40Z", "2026-05-28T20:26:40Z"),
        ("changed", "2024-03-01T10:00:00Z", "2025-05-01T10:00:00Z"),
        ("old", "2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z"),
    ]
    assert feed.findtext("a:updated", namespaces=ATOM) == "2026-05-28T20:26:40Z"
    for entry in entries:  # RFC 4287: every entry has an id, a title, an update time and a link
        assert entry.findtext("a:id", namespaces=ATOM).startswith("urn:uuid:")
        assert entry.xpath("a:link[@rel='alternate']/@href", namespaces=ATOM)[0].endswith("/index.html")
    assert feed.xpath("/a:feed/a:author/a:name", namespaces=ATOM)
    catalog = json.loads((dated_catalog.parent / "site/catalog.json").read_text())
    assert {a["name"]: a["updated"] for a in catalog["agents"]}["changed"] == "2025-05-01T10:00:00Z"


def test_an_uncommitted_change_dates_a_file_by_its_modification_time(dated_catalog: Path) -> None:
    (dated_catalog / "old.md").write_text(AGENT.format(name="old") + "Edited.\n")
    os.utime(dated_catalog / "old.md", (1_790_000_000, 1_790_000_000))  # 2026-09-21T14:13:20Z
    build_catalog(dated_catalog)
    feed = etree.parse(str(dated_catalog.parent / "site/feed.xml"))
    first = feed.xpath("/a:feed/a:entry", namespaces=ATOM)[0]
    assert first.findtext("a:title", namespaces=ATOM) == "old"
    assert first.findtext("a:published", namespaces=ATOM) == "2024-03-01T10:00:00Z"
    assert first.findtext("a:updated", namespaces=ATOM) == "2026-09-21T14:13:20Z"


def test_the_site_works_in_chromium_under_a_sub_path(browser, tmp_path: Path) -> None:
    shutil.copytree(DEMO_AGENTS, tmp_path / "agents")
    (tmp_path / "site").mkdir()
    with serve_under(tmp_path / "site", SUB_PATH) as base:
        build(load_config(tmp_path / "agents", tmp_path / "site", site_url=base), Report())
        page = browser.new_page()
        failed: list[str] = []
        page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
        page.goto(base)
        page.fill("#ap-search", "goroutines")  # the search index loads from the sub-path
        page.wait_for_selector("[data-results] a")
        page.locator("[data-results] a").first.click()
        page.wait_for_url(base + "agents/go-concurrency-reviewer/index.html")
        assert page.locator("h1").inner_text() == "go-concurrency-reviewer"
        assert failed == [], "every script, stylesheet and index chunk loaded"
        response = page.goto(base + "agents/renamed-long-ago/")
        assert response is not None and response.status == 404
        assert page.evaluate("getComputedStyle(document.querySelector('.button')).borderTopLeftRadius") == "6px"
        page.get_by_role("link", name="Browse all agents").click()
        page.wait_for_url(base + "index.html")
        assert page.locator("[data-agent]").count() == 11
        page.close()


def test_a_renamed_file_keeps_its_first_date_and_skewed_clocks_do_not_swap_dates(dated_catalog: Path) -> None:
    folder = dated_catalog.parent
    (dated_catalog / "team").mkdir()
    git(folder, "mv", "agents/old.md", "agents/team/old.md")
    git(folder, "commit", "-qm", "move", date="2023-01-01T00:00:00Z")  # a clock behind the others
    dates = read_file_dates([dated_catalog / "team/old.md"], dated_catalog)[dated_catalog / "team/old.md"]
    assert (dates.added.isoformat(), dates.updated.isoformat()) == (
        "2023-01-01T00:00:00+00:00", "2024-03-01T10:00:00+00:00")


def test_a_shallow_clone_is_dated_by_its_newest_commit_with_a_warning(
    dated_catalog: Path, tmp_path: Path, caplog, monkeypatch
) -> None:
    monkeypatch.setattr(logging.getLogger("generator"), "propagate", True)  # the CLI turns it off
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", (dated_catalog.parent).as_uri(), str(clone))
    with caplog.at_level("WARNING"):
        dates = read_file_dates([clone / "agents/old.md"], clone / "agents")
    assert dates[clone / "agents/old.md"].updated.isoformat() == "2025-05-01T10:00:00+00:00"
    assert "shallow git clone" in caplog.text and "fetch-depth: 0" in caplog.text


class ValueDict(dict):
    """A store of values as the build cache keeps them, in memory."""

    def get_value(self, name: str) -> object:
        return self.get(name)

    def put_value(self, name: str, value: object) -> None:
        self[name] = value


def test_committed_dates_are_read_from_git_once_while_head_stays(dated_catalog: Path, monkeypatch) -> None:
    from generator.catalog import history

    reads: list[Path] = []
    git_dates = history._git_dates
    monkeypatch.setattr(history, "_git_dates", lambda folder, root: reads.append(folder) or git_dates(folder, root))
    store, paths = ValueDict(), [dated_catalog / "old.md", dated_catalog / "changed.md"]
    first = read_file_dates(paths, dated_catalog, store)
    assert read_file_dates(paths, dated_catalog, store) == first == read_file_dates(paths, dated_catalog)
    assert len(reads) == 2, "once with the store, once without"
    (dated_catalog / "old.md").write_text(AGENT.format(name="old, changed"))
    git(dated_catalog.parent, "commit", "-qam", "change", date="2026-02-01T10:00:00Z")
    assert read_file_dates(paths, dated_catalog, store)[paths[0]].updated.isoformat() == "2026-02-01T10:00:00+00:00"
    assert len(reads) == 3, "a new commit is read"


def test_the_feed_shortlist_keeps_the_order_of_sorting_every_item() -> None:
    """The feed takes its newest items from each kind's shortlist; the result is the head of
    ordering every item, kinds taking turns within a date."""
    import random
    from datetime import datetime, timezone

    from generator.catalog.history import FileDates
    from generator.site.publish import FeedItem, newest_first

    picker = random.Random(7)
    days = [datetime(2026, 1, day, tzinfo=timezone.utc) for day in (1, 2, 3)]
    items = []
    for number in range(400):
        kind = picker.choice(["agent", "agent", "command", "skill"])
        day = picker.choice(days)
        items.append(FeedItem(kind, f"item {picker.randrange(60)}", f"{number}.html", f"{kind} {number}", "",
                              FileDates(day, day), str))

    def newest(item: FeedItem) -> tuple[float, str, str]:
        return -item.dates.updated.timestamp(), item.title.casefold(), item.key

    turns: dict[int, int] = {}
    for kind in ("agent", "command", "skill"):
        for turn, item in enumerate(sorted((i for i in items if i.kind == kind), key=newest)):
            turns[id(item)] = turn
    everything = sorted(items, key=lambda item: (-item.dates.updated.timestamp(), turns[id(item)],
                                                 ("agent", "command", "skill").index(item.kind)))
    assert newest_first(items, 50) == everything[:50]
    assert [item.kind for item in newest_first(items, 3)] == ["agent", "command", "skill"]


def test_the_feed_of_a_large_catalog_lists_its_newest_agents_ties_by_name(tmp_path: Path) -> None:
    """More agents than the feed holds, many of one date: the newest come first, those of one
    date by name regardless of case, then by slug."""
    import random

    picker = random.Random(11)
    names = [f"{picker.choice(['Alpha', 'alpha', 'Beta', 'gamma'])}-{picker.randrange(40)}-{number}" for number in range(130)]
    agents = write_agents(tmp_path, {f"a{number:03}.md": AGENT.format(name=name) for number, name in enumerate(names)})
    moments = [1_700_000_000 + 86_400 * picker.randrange(3) for _ in names]
    for number, moment in enumerate(moments):
        os.utime(agents / f"a{number:03}.md", (moment, moment))
    build_catalog(agents)
    feed = etree.parse(str(tmp_path / "site/feed.xml"))
    titles = [entry.findtext("a:title", namespaces=ATOM) for entry in feed.xpath("/a:feed/a:entry", namespaces=ATOM)]
    by_file = {name: f"a{number:03}" for number, name in enumerate(names)}
    expected = sorted(names, key=lambda name: (-moments[names.index(name)], name.casefold(), by_file[name]))
    assert titles == expected[:50]
