"""Whole-site builds: every page, the stable hooks, relative links, and safe replacement of site/."""

from __future__ import annotations

import filecmp
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import (
    DEMO_AGENTS,
    assert_no_danger,
    build_catalog,
    parse_html,
    text_of,
    write_agents,
)

from generator.errors import BuildFailed, SiteError, TemplateError
from generator.pipeline.read import RACY_SECONDS

BASIC = """\
---
name: {name}
description: Does {name} things.
color: {color}
tools: Read, Grep
---

## Skills

### One

Text.
"""


def demo_sources() -> list[Path]:
    return sorted(DEMO_AGENTS.rglob("*.md"))


def test_one_page_and_one_raw_file_per_agent(demo_site: Path) -> None:
    pages = sorted(p.parent.name for p in (demo_site / "agents").glob("*/index.html"))
    assert len(pages) == len(demo_sources()) >= 8
    for source in demo_sources():
        slug = source.stem  # the demo's names equal their file names
        assert (demo_site / "agents" / slug / "index.html").is_file()
        assert filecmp.cmp(source, demo_site / "agents" / f"{slug}.md", shallow=False)
    for name in ("index.html", ".nojekyll", ".agentpages", "assets/style.css", "assets/pygments.css", "assets/colors.css"):
        assert (demo_site / name).is_file()


def test_index_lists_every_agent_with_a_color_badge(demo_site: Path) -> None:
    root = parse_html(demo_site / "index.html")
    entries = root.xpath("//*[@data-agent]")
    assert sorted(e.get("data-agent") for e in entries) == sorted(s.stem for s in demo_sources())
    for entry in entries:
        (link,) = entry.xpath(".//a[@href]")
        assert link.get("href") == f"agents/{entry.get('data-agent')}/index.html"
        assert len(entry.xpath(".//*[@data-badge='color']")) == 1
    tones = {b.get("class") for b in root.xpath("//*[@data-badge='color']")}
    for color in ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "magenta", "gray"):
        assert any(f"tone-{color}" in tone for tone in tones), color


def test_seed_page_shows_badges_examples_and_navigable_sections(demo_site: Path) -> None:
    root = parse_html(demo_site / "agents/senior-backend-engineer/index.html")
    assert [text_of(h) for h in root.iter("h1")] == ["senior-backend-engineer"]
    badges = {b.get("data-badge"): text_of(b) for b in root.xpath("//header//*[@data-badge]")}
    assert badges == {"color": "purple", "model": "model inherit", "tool": "all tools", "category": "Engineering"}
    cards = root.xpath("//*[@data-example]")
    assert [text_of(c.find(".//h3")) for c in cards] == [
        "API Design",
        "Microservices Architecture",
        "Performance Optimization",
        "Database Design",
        "Proactive Use After Implementation",
    ]
    assert text_of(cards[4].xpath(".//*[contains(@class, 'stage-direction')]")[0]) == "After creating the module"
    (nav,) = root.xpath("//nav[@aria-label='Contents']")
    targets = {a.get("href")[1:] for a in nav.xpath(".//a")}
    body = root.xpath("//*[@data-body]")[0]
    headings = body.xpath(".//h2 | .//h3")
    assert len(headings) == 19
    for heading in headings:
        assert heading.get("id") in targets


def test_tools_as_string_list_and_empty(demo_site: Path) -> None:
    def tools(slug: str) -> list[str]:
        root = parse_html(demo_site / f"agents/{slug}/index.html")
        return [text_of(b) for b in root.xpath("//*[@data-badge='tool']")]

    assert tools("api-contract-reviewer") == ["Read", "Grep", "Glob", "Bash"]
    assert tools("database-migration-specialist")[0] == "Read"
    assert tools("test-strategy-advisor") == ["no tools"]
    assert tools("frontend-performance-engineer") == ["all tools"]


def test_no_example_tags_leak_into_any_page(demo_site: Path) -> None:
    for page in demo_site.rglob("*.html"):
        root = parse_html(page)
        assert not root.xpath("//example | //commentary"), page
        assert "<example" not in text_of(root).lower(), page
        assert "</commentary" not in text_of(root).lower(), page


def test_every_internal_link_is_relative_and_resolves(demo_site: Path) -> None:
    for page in demo_site.rglob("*.html"):
        if page.name == "404.html":
            continue  # a host serves 404.html at any depth, so its links start at the root
        root = parse_html(page)
        for element in root.xpath("//a[@href] | //link[@href]"):
            url = urlsplit(element.get("href"))
            if url.scheme or url.netloc:
                continue
            assert not url.path.startswith("/"), (page, url)
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            assert target.is_file(), (page, element.get("href"))
            if url.fragment:
                assert parse_html(target).xpath(f"//*[@id='{url.fragment}']"), (page, url)


def test_output_is_byte_identical_across_builds(tmp_path: Path) -> None:
    shutil.copytree(DEMO_AGENTS, tmp_path / "agents")
    build_catalog(tmp_path / "agents", tmp_path / "one")
    build_catalog(tmp_path / "agents", tmp_path / "two")
    comparison = filecmp.dircmp(tmp_path / "one", tmp_path / "two")
    files = [p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file()]
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "one", tmp_path / "two", files, shallow=False)
    assert not comparison.left_only and not comparison.right_only
    assert (mismatch, errors) == ([], [])


def test_site_holds_exactly_the_current_catalog(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"a.md": BASIC.format(name="a", color="red"), "b.md": BASIC.format(name="b", color="blue")})
    build_catalog(agents)
    (agents / "b.md").unlink()
    build_catalog(agents)
    assert sorted(p.name for p in (tmp_path / "site/agents").iterdir()) == ["a", "a.md"]
    assert not list(tmp_path.glob(".site-*")), "no staging folder is left behind"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_failed_build_leaves_the_previous_site_untouched(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"a.md": BASIC.format(name="a", color="red")})
    build_catalog(agents)
    before = snapshot(tmp_path / "site")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/agent.html").write_text("line one\n{{ agent.no_such_field }}\n")
    (agents / "b.md").write_text(BASIC.format(name="b", color="blue"))
    with pytest.raises(TemplateError) as caught:
        build_catalog(agents)
    assert caught.value.path == tmp_path / "templates/agent.html"
    assert caught.value.line == 2
    assert "no_such_field" in caught.value.message and "a.md" in caught.value.message
    assert snapshot(tmp_path / "site") == before
    assert not list(tmp_path.glob(".site-*"))


@pytest.mark.parametrize("refused", [{"new site in"}, {"last site aside"}, {"new site in", "last site back"}])
def test_a_swap_that_fails_puts_the_last_site_back(tmp_path: Path, monkeypatch, refused: set[str]) -> None:
    from generator.config import load_config
    from generator.errors import Report
    from generator.pipeline.build import build
    from generator.store import output

    agents = write_agents(tmp_path, {"a.md": BASIC.format(name="a", color="red")})
    build_catalog(agents)
    before = snapshot(tmp_path / "site")
    (agents / "b.md").write_text(BASIC.format(name="b", color="blue"))
    replace = os.replace

    def move(source: str | Path, target: str | Path) -> None:
        source, target = Path(source), Path(target)
        step = ("new site in" if source.name.startswith(".site-building-") else
                "last site aside" if target.parent.name.startswith(".site-old-") else "last site back")
        if step in refused:
            raise PermissionError(13, "Permission denied", str(source))
        replace(source, target)

    monkeypatch.setattr(output.os, "replace", move)
    with pytest.raises(SiteError, match="cannot replace the output folder: Permission denied") as caught:
        build(load_config(agents, tmp_path / "site"), Report(), use_cache=False)
    assert not list(tmp_path.glob(".site-building-*")), "the staging folder is removed"
    if "last site back" in refused:  # the last site stays aside, and the message says where
        (kept,) = tmp_path.glob(".site-old-*/site")
        assert str(kept) in caught.value.message and snapshot(kept) == before
    else:
        assert "the site was not changed" in caught.value.message
        assert snapshot(tmp_path / "site") == before and not list(tmp_path.glob(".site-*"))


def test_strict_build_fails_on_warnings_and_changes_nothing(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"a.md": BASIC.format(name="a", color="sparkly")})
    result = build_catalog(agents)
    assert [f.rule for f in result.report.findings] == ["unknown-color"]
    before = snapshot(tmp_path / "site")
    (agents / "b.md").write_text(BASIC.format(name="b", color="blue"))
    with pytest.raises(BuildFailed, match="strict mode with 1 warning"):
        build_catalog(agents, strict=True)
    assert snapshot(tmp_path / "site") == before


def test_catalog_templates_override_the_built_in_ones(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"a.md": BASIC.format(name="a", color="red")})
    (tmp_path / "templates/assets").mkdir(parents=True)
    (tmp_path / "templates/index.html").write_text(
        '{% extends "base.html" %}{% block page %}<main id="ap-main"><h1>Custom {{ catalog.agents|length }}</h1></main>{% endblock %}'
    )
    (tmp_path / "templates/assets/extra.css").write_text("body{}")
    build_catalog(agents)
    assert text_of(parse_html(tmp_path / "site/index.html").find(".//h1")) == "Custom 1"
    assert (tmp_path / "site/assets/extra.css").is_file()
    assert (tmp_path / "site/assets/style.css").is_file()


def test_output_folder_that_is_not_a_site_is_refused(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"a.md": BASIC.format(name="a", color="red")})
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/important.txt").write_text("keep me")
    with pytest.raises(SiteError, match="not empty and was not built by agentpages"):
        build_catalog(agents, tmp_path / "docs")
    (tmp_path / "docs/.nojekyll").write_text("")  # a hand-made GitHub Pages folder
    with pytest.raises(SiteError, match="not empty and was not built by agentpages"):
        build_catalog(agents, tmp_path / "docs")
    with pytest.raises(SiteError, match="outside the agents folder"):
        build_catalog(agents, tmp_path)
    with pytest.raises(SiteError, match="outside the agents folder"):
        build_catalog(agents, agents / "site")
    assert (tmp_path / "docs/important.txt").read_text() == "keep me"


def test_nothing_is_written_beside_the_catalog(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    agents = write_agents(catalog, {"a.md": BASIC.format(name="a", color="red")})
    before = sorted(str(p) for p in catalog.rglob("*"))
    build_catalog(agents, tmp_path / "elsewhere/site")
    assert sorted(str(p) for p in catalog.rglob("*")) == before
    assert (tmp_path / "elsewhere/site/index.html").is_file()


def test_hostile_values_stay_text(tmp_path: Path) -> None:
    agents = write_agents(
        tmp_path,
        {
            "evil.md": """\
            ---
            name: '"><script>alert(1)</script>'
            description: 'Hi <img src=x onerror=alert(1)> <example>user: "<script>x()</script>" assistant: "ok"</example>'
            color: 'red" onmouseover="alert(1)'
            model: '<b onclick=x>opus</b>'
            tools: ['<svg onload=alert(1)>']
            extra: '<script>bad()</script>'
            ---

            ## <script>alert(2)</script>Heading

            <a href="javascript:alert(3)">x</a>
            """,
        },
    )
    result = build_catalog(agents)
    (agent,) = result.catalog.agents
    for page in (tmp_path / "site").rglob("*.html"):
        root = parse_html(page)
        assert_no_danger(root)
        assert not root.xpath("//svg"), page
    page = parse_html(tmp_path / f"site/{agent.url}")
    assert text_of(page.find(".//h1")) == '"><script>alert(1)</script>'
    assert agent.slug == "script-alert-1-script"


def test_duplicate_names_get_unique_slugs_and_an_error(tmp_path: Path) -> None:
    agents = write_agents(
        tmp_path,
        {"one/a.md": BASIC.format(name="same", color="red"), "two/a.md": BASIC.format(name="same", color="red")},
    )
    result = build_catalog(agents)
    assert sorted(a.slug for a in result.catalog.agents) == ["same", "same-2"]
    (finding,) = [f for f in result.report.findings if f.rule == "duplicate-name"]
    assert finding.path.as_posix().endswith("two/a.md") and (finding.line, finding.column) == (2, 7)
    assert (finding.severity, finding.rule) == ("error", "duplicate-name")
    assert finding.message == "name 'same' is also used by one/a.md: give each agent its own name"


def test_broken_files_are_reported_and_the_rest_builds(tmp_path: Path) -> None:
    agents = write_agents(
        tmp_path,
        {
            "good.md": BASIC.format(name="good", color="red"),
            "latin1.md": b"---\nname: x\ndescription: caf\xe9\n---\n",
            "bare.md": "Just text, no frontmatter.\n",
            "wrong.md": "---\nname: wrong\ndescription: [a, b]\nmodel: 4\ntools: 7\n---\n",
        },
    )
    result = build_catalog(agents)
    assert sorted(a.slug for a in result.catalog.agents) == ["bare", "good", "wrong"]
    found = {(f.path.name, f.line, f.rule) for f in result.report.findings}
    assert found == {
        ("latin1.md", 3, "not-utf8"),
        ("bare.md", 1, "no-frontmatter"),
        ("wrong.md", 3, "wrong-type"),
        ("wrong.md", 4, "wrong-type"),
        ("wrong.md", 5, "tools-type"),
    }


def test_site_is_readable_by_others_and_special_files_are_skipped(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"a.md": BASIC.format(name="a", color="red")})
    os.mkfifo(agents / "pipe.md")  # reading it would block forever
    result = build_catalog(agents)
    assert [a.slug for a in result.catalog.agents] == ["a"]
    assert stat.S_IMODE((tmp_path / "site").stat().st_mode) == 0o755


def test_model_is_kept_as_written_and_every_heading_is_in_the_contents(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"a.md": "---\nname: a\ndescription: x\nmodel: 1.10\n---\n\n## Two\n\n### Three\n\n#### Four\n"})
    result = build_catalog(agents)
    page = parse_html(tmp_path / "site" / result.catalog.agents[0].url)
    assert text_of(page.xpath("//*[@data-badge='model']")[0]) == "model 1.10"
    links = [a.get("href") for a in page.xpath("//nav[@aria-label='Contents']//a")]
    assert links == ["#two", "#three", "#four"], "the body's headings, under no heading of ours"
    for link in links:  # each leads to a heading the reader sees
        (target,) = page.xpath(f"//*[@id='{link[1:]}']")
        assert "visually-hidden" not in (target.get("class") or "")


def test_a_missing_include_names_the_including_template(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"a.md": BASIC.format(name="a", color="red")})
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/index.html").write_text("<p>\n{% include 'nope.html' %}\n")
    with pytest.raises(TemplateError) as caught:
        build_catalog(agents)
    assert (caught.value.path, caught.value.line) == (tmp_path / "templates/index.html", 2)
    assert caught.value.message == "template not found: nope.html"


def test_pages_carry_open_graph_and_twitter_tags(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"a.md": BASIC.format(name="a", color="red")})
    (tmp_path / "agentpages.yml").write_text("site_url: https://me.github.io/agents\n")
    build_catalog(agents)
    page = parse_html(tmp_path / "site/agents/a/index.html")
    meta = {m.get("property") or m.get("name"): m.get("content") for m in page.iter("meta")}
    assert meta["og:title"] == meta["twitter:title"] == "a"
    assert meta["og:description"] == meta["twitter:description"] == "Does a things."
    assert meta["og:url"] == "https://me.github.io/agents/agents/a/"
    assert page.xpath("//link[@rel='canonical']/@href") == ["https://me.github.io/agents/agents/a/"]
    install = page.xpath("//*[@data-install-command]")[0]
    assert "curl -fsSL https://me.github.io/agents/agents/a.md" in text_of(install)
    not_found = parse_html(tmp_path / "site/404.html")
    assert not_found.xpath("//link[@rel='stylesheet']/@href")[0] == "/agents/assets/style.css"


def test_example_blocks_in_a_body_become_example_cards(tmp_path: Path) -> None:
    body = ("You generate images.\n\n## When to Delegate\n\n<example>\nContext: Four logos\nuser: \"Generate all 4\"\n"
            "assistant: \"I'll spawn 4 agents.\"\n<commentary>\nOne agent per image.\n</commentary>\n</example>\n\n"
            "```xml\n<example>\nuser: shown as code\n</example>\n```\n")
    agents = write_agents(tmp_path, {"gen.md": f"---\nname: gen\ndescription: Generates.\n---\n\n{body}"})
    build_catalog(agents)
    page = parse_html(tmp_path / "site/agents/gen/index.html")
    cards = page.xpath("//section[@aria-labelledby='ap-examples']//*[@data-example]")
    assert len(cards) == 1 and "Generate all 4" in text_of(cards[0]) and "One agent per image." in text_of(cards[0])
    body_text = text_of(page.xpath("//*[@data-body]")[0])
    assert "Generate all 4" not in body_text, "taken out of the body"
    assert "<example>" in body_text and "shown as code" in body_text, "a block in a code fence stays code"


def test_categories_and_agents_come_in_the_order_the_catalog_chooses(tmp_path: Path) -> None:
    agent = "---\nname: {name}\ndescription: Does {name} things.\ncategory: {category}\n{extra}---\n\nBody.\n"
    agents = write_agents(tmp_path, {
        "alpha.md": agent.format(name="alpha", category="Build", extra=""),
        "beta.md": agent.format(name="beta", category="Build", extra="weight: 2\n"),
        "gamma.md": agent.format(name="gamma", category="Build", extra="order: 1\n"),
        "delta.md": agent.format(name="delta", category="Run", extra=""),
        "omega.md": agent.format(name="omega", category="Zeta", extra=""),
    })
    (tmp_path / "agentpages.yml").write_text("categories: [zeta, Run]\n")  # case aside; Build is not listed
    build_catalog(agents)
    index = parse_html(tmp_path / "site/index.html")
    sections = [text_of(h).split(" (")[0] for h in index.xpath("//*[@data-category-section]//h2")]
    assert sections == ["Zeta", "Run", "Build"]
    cards = [card.get("data-agent") for card in index.xpath("//*[@data-category-section]//li[@data-agent]")]
    assert cards == ["omega", "delta", "gamma", "beta", "alpha"], "order/weight first, lowest first, then by name"
    gamma = parse_html(tmp_path / "site/agents/gamma/index.html")
    assert [text_of(a).split(" ", 1)[1] for a in gamma.xpath("//nav[@class='pager']/a")] == ["delta", "beta"]
    assert not gamma.xpath("//*[contains(., 'order')][@class='metadata']"), "order is ours, not shown as metadata"


NOT_FOR_A_BUILD_WITH_NOTHING_CHANGED = ("jinja2", "markdown", "nh3", "pygments", "yaml", "concurrent.futures.process",
                                        "generator.catalog.lint", "generator.catalog.mentions", "generator.site.render",
                                        "generator.pipeline.components")


def test_a_build_with_nothing_changed_loads_no_renderer_and_no_rule(tmp_path: Path) -> None:
    """Starting up is most of such a build: it imports what it uses, each in a process of its own."""
    shutil.copytree(DEMO_AGENTS, tmp_path / "repository/agents")
    time.sleep(RACY_SECONDS + 0.1)  # files changed too recently to trust are read again at the next build
    argv = ["agentpages", "build", "--agents", "agents", "--cache-dir", str(tmp_path / "cache")]  # not in the repository
    probe = ("import sys\nfrom generator.commands.cli import main\n"
             f"sys.argv = {argv!r}\ncode = main()\n"
             "print(' '.join(sorted(sys.modules)), file=sys.stderr)\nsys.exit(code)\n")
    for _ in ("cold", "nothing changed"):
        done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path / "repository", capture_output=True, text=True,
                              check=True)
    assert "nothing changed" in done.stdout + done.stderr
    loaded = set(done.stderr.splitlines()[-1].split())
    assert loaded.isdisjoint(NOT_FOR_A_BUILD_WITH_NOTHING_CHANGED), sorted(loaded & set(NOT_FOR_A_BUILD_WITH_NOTHING_CHANGED))
