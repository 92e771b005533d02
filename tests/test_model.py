"""The model's pure rules: slugs, colors, tools and categories."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from generator.catalog.model import (
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
