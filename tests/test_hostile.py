"""Hostile and broken agent files: the build finishes, reports each, and nothing harmful comes out."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import assert_no_danger, build_catalog, parse_html, text_of

from generator.errors import BuildFailed

HOSTILE = Path(__file__).parent / "fixtures" / "hostile" / "agents"
PWNED_MARKER = Path("/tmp/agentpages-pwned")


def make_hostile_catalog(root: Path) -> Path:
    """Copy the hostile fixture catalog and add what cannot be committed: a huge file and links."""
    agents = root / "catalog" / "agents"
    shutil.copytree(HOSTILE, agents)
    (agents / "huge.md").write_text("---\nname: huge\ndescription: x\n---\n" + "a" * (1024 * 1024))
    secret = root / "secret.md"
    secret.write_text("---\nname: secret\ndescription: outside the catalog\n---\n")
    os.symlink(secret, agents / "link-to-outside.md")
    os.symlink(root, agents / "link-to-parent")
    return agents


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("hostile")
    agents = make_hostile_catalog(root)
    before = sorted(p for p in root.rglob("*"))
    pwned_before = PWNED_MARKER.exists()
    result = build_catalog(agents, root / "catalog" / "site")
    site = root / "catalog" / "site"
    written_outside = [p for p in sorted(root.rglob("*")) if p not in before and not p.is_relative_to(site)]
    assert written_outside == [], "the build writes nothing but the site (its cache is in the user's cache folder)"
    assert PWNED_MARKER.exists() == pwned_before, "no YAML tag ran a command"
    return result, site


def test_every_broken_file_has_a_finding(hostile_build) -> None:
    result, _ = hostile_build
    rules = {(f.path.name, f.rule) for f in result.report.findings}
    assert rules >= {
        ("alias-bomb.md", "yaml-refused"),
        ("python-tag.md", "yaml-refused"),
        ("empty.md", "empty-file"),
        ("huge.md", "file-too-large"),
        ("not-utf8.md", "not-utf8"),
        ("no-frontmatter.md", "no-frontmatter"),
        ("unclosed-frontmatter.md", "unclosed-frontmatter"),
        ("wrong-types.md", "wrong-type"),
        ("wrong-types.md", "tools-type"),
        ("deep-nesting.md", "too-deeply-nested"),
        ("color-breakout.md", "unknown-color"),
        ("link-to-outside.md", "link-outside"),
    }


def test_the_rest_of_the_catalog_still_builds(hostile_build) -> None:
    result, site = hostile_build
    skipped = {"empty.md", "huge.md", "not-utf8.md", "link-to-outside.md"}
    built = {agent.path.name for agent in result.catalog.agents}
    expected = {p.name for p in HOSTILE.rglob("*.md")} - skipped
    assert built == expected
    assert len(list(site.glob("agents/*/index.html"))) == len(expected)
    assert "secret" not in {agent.name for agent in result.catalog.agents}


def test_no_page_carries_anything_that_runs(hostile_build) -> None:
    _, site = hostile_build
    pages = list(site.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        assert_no_danger(parse_html(page))


def test_output_stays_inside_the_site_with_safe_slugs(hostile_build) -> None:
    result, site = hostile_build
    slugs = {agent.path.name: agent.slug for agent in result.catalog.agents}
    assert slugs["path-traversal.md"] == "escape"
    assert slugs["slash-name.md"] == "etc-passwd"
    assert slugs["dot-name.md"] == "dot-name"
    for path in site.rglob("*"):
        assert path.resolve().is_relative_to(site.resolve())


def test_markup_in_fields_is_shown_as_text(hostile_build) -> None:
    result, site = hostile_build
    by_name = {agent.path.name: agent for agent in result.catalog.agents}
    page = parse_html(site / by_name["name-breakout.md"].url)
    assert text_of(page.find(".//h1")) == '"><svg onload="window.__pwned=1"><script>alert(1)</script>'
    tools_page = parse_html(site / by_name["tools-and-model.md"].url)
    tools = [text_of(b) for b in tools_page.xpath("//*[@data-badge='tool']")]
    assert tools[:2] == ["<img src=x onerror=alert(1)>", '"><script>alert(1)</script>']
    color = parse_html(site / by_name["color-breakout.md"].url).xpath("//*[@data-badge='color']")[0]
    assert color.get("class") == "badge badge-color tone-neutral"


def test_code_blocks_show_markup_literally(hostile_build) -> None:
    result, site = hostile_build
    agent = next(a for a in result.catalog.agents if a.name == "code-block")
    page = parse_html(site / agent.url)
    assert '<script>window.__pwned = 1</script>' in text_of(page.xpath("//*[@data-body]//pre")[0])
    assert page.xpath("//code[. = '<script>alert(1)</script>']")


def test_template_placeholders_are_never_evaluated(hostile_build) -> None:
    result, site = hostile_build
    agent = next(a for a in result.catalog.agents if a.name == "template-placeholders")
    text = text_of(parse_html(site / agent.url))
    assert "{{ config }}" in text
    assert "{% for x in range(99999999) %}loop{% endfor %}" in text
    assert "{{ self }} heading" in text
    assert "{% include 'base.html' %}" in text
    assert "{% raw %}{{ raw }}{% endraw %}" in text


def test_deeply_nested_body_is_shown_as_text(hostile_build) -> None:
    result, site = hostile_build
    agent = next(a for a in result.catalog.agents if a.name == "deep-nesting")
    body = parse_html(site / agent.url).xpath("//*[@data-body]")[0]
    assert body.find("pre") is not None and text_of(body).startswith(">>>>")


def test_strict_build_refuses_the_hostile_catalog(tmp_path: Path) -> None:
    agents = make_hostile_catalog(tmp_path)
    with pytest.raises(BuildFailed, match="strict mode"):
        build_catalog(agents, tmp_path / "site", strict=True)
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize(
    "html",
    [
        "<p>x</p><script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href=" JavaScript:alert(1)">x</a>',
        '<iframe src="https://example.com"></iframe>',
        '<p style="color: red">x</p>',
        '<meta http-equiv="Refresh" content="0;url=https://example.com">',
    ],
)
def test_the_danger_check_itself_catches_dangers(html: str) -> None:
    with pytest.raises(AssertionError):
        assert_no_danger(parse_html(html))


# -- inputs that a scan read once per occurrence would take minutes over (bench/hostile_inputs.py
# times them); here, what each gives, at a megabyte.

MEGABYTE = 1_000_000


def hostile_file(tmp_path: Path, text: str) -> Path:
    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "slow.md").write_text(text, encoding="utf-8")
    (tmp_path / "agentpages.yml").write_text(f"max_file_size: {2 * MEGABYTE}\n", encoding="utf-8")
    return agents


def findings_of(agents: Path) -> list[str]:
    from generator.config import load_config
    from generator.errors import Report
    from generator.pipeline.read import load_and_check

    report = Report()
    load_and_check(load_config(agents, agents.parent / "site"), report)
    return [f"{finding.rule}: {finding.message}" for finding in report.findings]


def test_a_hundred_thousand_unknown_tools_are_named_twenty_times_and_counted(tmp_path: Path) -> None:
    tools = ", ".join(f"Tool{number}x" for number in range(100_000))
    agents = hostile_file(tmp_path, f"---\nname: slow\ndescription: x\ntools: {tools}\n---\n\nBody.\n")
    unknown = [line for line in findings_of(agents) if line.startswith("unknown-tool")]
    assert len(unknown) == 21
    assert sum(line.startswith("unknown-tool: and 99,980 more unknown tools") for line in unknown) == 1
    build_catalog(agents)
    assert (tmp_path / "site" / "agents" / "slow" / "index.html").is_file()


@pytest.mark.parametrize("body", ["[" * MEGABYTE, "[a](" * (MEGABYTE // 4), "``a`" * (MEGABYTE // 4)],
                         ids=["open-brackets", "link-starts", "backticks"])
def test_a_megabyte_of_brackets_or_backticks_is_read_once(tmp_path: Path, body: str) -> None:
    agents = hostile_file(tmp_path, f"---\nname: slow\ndescription: x\n---\n\n{body}\n")
    assert len([line for line in findings_of(agents) if line.startswith("broken-link")]) <= 1
    build_catalog(agents)
    page = parse_html(tmp_path / "site" / "agents" / "slow" / "index.html")
    assert_no_danger(page)


def test_a_megabyte_of_example_tags_that_never_end_is_prose(tmp_path: Path) -> None:
    agents = hostile_file(tmp_path, '---\nname: slow\ndescription: "' + "<example" * (MEGABYTE // 8) + '"\n---\n\nBody.\n')
    assert findings_of(agents) == []  # no tag is ever closed by a `>`: no example starts
    build_catalog(agents)
    assert not parse_html(tmp_path / "site" / "agents" / "slow" / "index.html").findall(".//*[@class='example']")


def test_a_megabyte_of_ampersands_is_shown_as_plain_text(tmp_path: Path) -> None:
    agents = hostile_file(tmp_path, "---\nname: slow\ndescription: x\n---\n\n" + "a&" * (MEGABYTE // 2) + "\n")
    assert [line.split(":")[0] for line in findings_of(agents)] == ["too-large-to-render"]
    build_catalog(agents)
    from lxml import html as lxml_html  # html5lib, pure Python, would take minutes over 3 MB of entities

    page = lxml_html.fromstring((tmp_path / "site" / "agents" / "slow" / "index.html").read_bytes())
    shown = page.find(".//*[@data-body]/pre")
    assert shown is not None and shown.text_content().strip().startswith("a&a&")
