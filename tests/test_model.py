"""The model's pure rules: slugs, colors, tools and categories."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from generator.catalog.model import (
    Agent,
    Color,
    category_from_path,
    read_color,
    read_tools,
    slugify,
)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("senior-backend-engineer", "senior-backend-engineer"),
        ("dotnet-framework-4.8-expert", "dotnet-framework-4-8-expert"),
        ("Café Ünïcode Agent", "cafe-unicode-agent"),
        ("../../etc/passwd", "etc-passwd"),
        ("a/b\\c", "a-b-c"),
        ("日本語", ""),
    ],
)
def test_slugify_is_ascii_and_never_a_path(text: str, slug: str) -> None:
    assert slugify(text) == slug


@pytest.mark.parametrize(
    ("value", "color"),
    [
        ("purple", Color("purple", "purple")),
        ("Blue", Color("blue", "blue")),
        ("grey", Color("gray", "grey")),
        ("gold", Color("yellow", "gold")),
        ("teal", Color("cyan", "teal")),
        ("indigo", Color("purple", "indigo")),
        ("#0E7490", Color("hex", "#0e7490", "#0e7490")),
        ("#abc", Color("hex", "#abc", "#aabbcc")),
        ("chartreuse-ish", None),
        ('red" onmouseover="alert(1)', None),
        (12, None),
    ],
)
def test_read_color(value: object, color: Color | None) -> None:
    assert read_color(value) == color


def test_read_tools_forms() -> None:
    assert read_tools("Read, Write,  Bash") == ("Read", "Write", "Bash")
    assert read_tools(["Read", "Grep"]) == ("Read", "Grep")
    assert read_tools([]) == ()
    assert read_tools(None) is None
    with pytest.raises(TypeError):
        read_tools(42)
    with pytest.raises(TypeError):
        read_tools([{"a": 1}])


@pytest.mark.parametrize(
    ("path", "category"),
    [
        ("categories/01-core-development/api-designer.md", "Core development"),
        ("plugins/python-development/agents/python-pro.md", "Python development"),
        ("engineering/x.md", "Engineering"),
        ("x.md", ""),
        ("agents/team_a/10-data/x.md", "Team a / Data"),
    ],
)
def test_category_from_path(path: str, category: str) -> None:
    assert category_from_path(PurePosixPath(path)) == category


def test_an_agent_read_back_from_the_cache_is_the_agent_stored() -> None:
    """Every field comes back, those decoded when first asked for included (a field with a plain
    default would be a class attribute and hide from the lazy decoding)."""
    import json
    from pathlib import Path

    from generator.catalog.model import (
        Example,
        Turn,
        agent_from_head,
        agent_from_plain,
        agent_to_plain,
        split_agent_plain,
    )
    from generator.markdown.headings import Section

    agent = Agent(
        path=Path("/catalog/agents/a.md"), rel_path=PurePosixPath("a.md"), slug="a", name="a", summary_html="<p>A</p>",
        summary_text="A", examples=(Example("Title", "ctx", (Turn("user", "hi", ""),), "note"),), model="sonnet",
        color=Color("red", "red"), tools=("Read",), category="Team", body_html="",
        sections=(Section("one", "One", 2, ()),), metadata=(("owner", "me"),),
        linked_files=frozenset({PurePosixPath("b.md")}),
    )
    stored = json.loads(json.dumps(agent_to_plain(agent)))
    assert agent_from_plain(stored).linked_files == {PurePosixPath("b.md")}
    assert agent_from_plain(stored).metadata == (("owner", "me"),)
    assert agent_from_plain(stored) == agent
    head, rest = split_agent_plain(stored)
    reads: list[str] = []
    from_head = agent_from_head(head, lambda: reads.append("rest") or rest)
    assert (from_head.slug, from_head.color, from_head.tools, from_head.linked_files) == (
        "a", Color("red", "red"), ("Read",), {PurePosixPath("b.md")})
    assert reads == [], "the head alone answers what every build asks of every agent"
    assert from_head.summary_text == "A" and from_head.sections == agent.sections and from_head == agent
    assert reads == ["rest"], "the rest is read once, when first asked for"


def test_an_unknown_color_keeps_the_authors_word_on_a_neutral_badge(tmp_path) -> None:
    from conftest import build_catalog, parse_html, write_agents

    from generator.catalog.model import shown_color

    assert shown_color("sparkly") == Color("neutral", "sparkly")
    assert shown_color(None) == Color("neutral", "") and shown_color(["red"]) == Color("neutral", "")
    assert shown_color("x" * 100).label == "x" * 30
    agents = write_agents(tmp_path, {
        "odd.md": "---\nname: odd\ndescription: Odd.\ncolor: sparkly <b>\n---\n\nBody.\n",
        "plain.md": "---\nname: plain\ndescription: Plain.\n---\n\nBody.\n",
    })
    build_catalog(agents, tmp_path / "site")
    badge = parse_html(tmp_path / "site/agents/odd/index.html").xpath("//*[@data-badge='color']")[0]
    assert "tone-neutral" in badge.get("class") and badge.xpath("string()").strip() == "sparkly <b>"
    plain = parse_html(tmp_path / "site/agents/plain/index.html").xpath("//*[@data-badge='color']")[0]
    assert plain.xpath("string()").strip() == "no color"
