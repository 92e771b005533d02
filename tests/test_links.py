"""Relative links in agent text: to another agent file they lead to its page; otherwise they show as text."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from conftest import build_catalog, parse_html, text_of, write_agents
from lxml import etree

from generator.config import load_config
from generator.markdown.links import LinkContext, resolve_link, target_path
from generator.pipeline.live import LiveSite

AGENT = "---\nname: {name}\ndescription: {summary}\n---\n\n## Role\n\n{body}\n"


def body_of(site: Path, slug: str) -> etree._Element:
    return parse_html(site / "agents" / slug / "index.html").xpath("//*[@data-body]")[0]


def test_links_to_agent_files_lead_to_their_pages(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {
        "team/lead.md": AGENT.format(
            name="lead", summary="Hands work to [the reviewer](../review/reviewer.md).",
            body="Ask [the reviewer](../review/reviewer.md#role), [a peer](peer.md) or "
                 '<a href="./peer.md">the peer again</a>.\n\n[ref]: ./peer.md\n\nSee [also][ref].'),
        "team/peer.md": AGENT.format(name="peer", summary="Helps.", body="Works."),
        "review/reviewer.md": AGENT.format(name="Code Reviewer", summary="Reviews.", body="Works."),
    })
    build_catalog(agents)
    site = tmp_path / "site"
    links = {text_of(a): a.get("href") for a in body_of(site, "lead").xpath(".//a[not(@class='anchor')]")}
    assert links == {"the reviewer": "../code-reviewer/index.html#role", "a peer": "../peer/index.html",
                     "the peer again": "../peer/index.html", "also": "../peer/index.html"}
    summary = parse_html(site / "agents/lead/index.html").xpath("//*[@class='summary']//a/@href")
    assert summary == ["../code-reviewer/index.html"]


def test_links_that_lead_nowhere_show_as_text(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"a.md": AGENT.format(
        name="a", summary="x",
        body="![preview](thumbnail_url) [guide](../docs/guide.md) [root](/README.md) "
             '<img src="diagram.png" alt="the diagram"> <a href="notes.txt">notes</a> '
             "[site](https://example.org/) [top](#role)")})
    build_catalog(agents)
    body = body_of(tmp_path / "site", "a")
    assert "preview guide root the diagram notes site top" in text_of(body)
    assert body.xpath(".//img") == []
    hrefs = [a.get("href") for a in body.xpath(".//a[not(@class='anchor')]")]
    assert hrefs == [None, None, None, "https://example.org/", "#role"]


def test_resolving_stays_inside_the_agents_folder() -> None:
    source = PurePosixPath("team/lead.md")
    assert target_path("../../etc/passwd", source) is None
    assert target_path("/agents/x.md", source) is None
    assert target_path("sub/../peer.md?x=1#y", source) == PurePosixPath("team/peer.md")
    assert target_path("%2E%2E/review/r.md", source) == PurePosixPath("review/r.md")
    context = LinkContext(source, {PurePosixPath("team/peer.md"): "peer"})
    assert resolve_link("peer.md#a%20b", context) == "../peer/index.html#a%20b"
    assert resolve_link("gone.md", context) is None
    assert context.linked_files == {PurePosixPath("team/peer.md"), PurePosixPath("team/gone.md")}


def test_serve_follows_a_renamed_link_target(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {
        "lead.md": AGENT.format(name="lead", summary="x", body="Ask [peer](peer.md)."),
        "peer.md": AGENT.format(name="peer", summary="x", body="Works."),
        "aaa.md": AGENT.format(name="aaa", summary="x", body="Unrelated, and not a neighbour."),
        "bbb.md": AGENT.format(name="bbb", summary="x", body="Unrelated."),
    })
    live = LiveSite(lambda: load_config(agents, tmp_path / "site"))
    live.rebuild(full=True)
    (agents / "peer.md").write_text(AGENT.format(name="zed", summary="x", body="Works."))
    result = live.rebuild()
    assert "agents/lead/index.html" in result.changed_urls, "the page linking to it follows the new slug"
    assert "agents/aaa/index.html" not in result.changed_urls
    assert body_of(tmp_path / "site", "lead").xpath(".//a[text()='peer']/@href") == ["../zed/index.html"]
    (agents / "peer.md").unlink()
    live.rebuild()
    (link,) = body_of(tmp_path / "site", "lead").xpath(".//a[text()='peer']")
    assert link.get("href") is None
