"""`agentpages serve` over a real socket on 127.0.0.1, with real file edits, and in Chromium."""

from __future__ import annotations

import http.client
import itertools
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from conftest import parse_html, write_agents

from generator.commands.serve import (
    KEEPALIVE_SECONDS,
    Server,
    inject_reload_script,
    resolve_site_path,
    start_server,
)
from generator.config import load_config
from generator.errors import UsageError

AGENT = "---\nname: {name}\ndescription: {summary}\ncolor: blue\n---\n\n## Role\n\n{body}\n"


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> object:
    """Poll until `condition` returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("the condition did not come true in time")


def get(url: str) -> tuple[int, str]:
    try:
        with urlopen(url) as response:
            return response.status, response.read().decode()
    except HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    return write_agents(tmp_path, {
        "team/alpha.md": AGENT.format(name="alpha", summary="First agent.", body="Alpha body."),
        "team/beta.md": AGENT.format(name="beta", summary="Second agent.", body="Beta body."),
    })


@pytest.fixture
def server(catalog: Path) -> Iterator[Server]:
    running = start_server(lambda: load_config(catalog, catalog.parent / "site"), port=0)
    yield running
    running.stop()


class EventStream:
    """A client of the server's Server-Sent Events, reading one event at a time."""

    def __init__(self, url: str) -> None:
        host, port = url.split("//")[1].strip("/").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=15)
        self.connection.request("GET", "/__agentpages/events")
        self.response = self.connection.getresponse()
        assert self.response.getheader("Content-Type") == "text/event-stream"

    def next_event(self) -> tuple[str, dict]:
        name, data = "", ""
        while True:
            line = self.response.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif not line and name:
                return name, json.loads(data)

    def close(self) -> None:
        self.connection.close()


def test_paths_outside_the_site_are_refused(tmp_path: Path) -> None:
    for path in ("/../etc/passwd", "/a/../../b", "/%2e%2e/x", "/%252e%252e/x", "/..%2fx", "/a\\..\\b", "/x%00.html"):
        assert resolve_site_path(tmp_path, path) is None, path
    assert resolve_site_path(tmp_path, "/agents/a/") == tmp_path / "agents/a/index.html"


def test_the_reload_script_goes_before_the_last_body_tag() -> None:
    html = b"<html><body><p>x</p></body></html>"
    assert inject_reload_script(html) == (
        b'<html><body><p>x</p><script type="module" src="/__agentpages/livereload.js"></script></body></html>'
    )


def test_serves_pages_with_the_reload_script_and_right_types(server: Server) -> None:
    status, html = get(server.url + "agents/alpha/index.html")
    assert status == 200 and "/__agentpages/livereload.js" in html
    with urlopen(server.url + "assets/style.css") as response:
        assert response.headers["Content-Type"] == "text/css; charset=utf-8"
    with urlopen(server.url + "agents/alpha.md") as response:
        assert response.headers["Content-Type"].startswith("text/markdown")
    status, html = get(server.url + "no/such/page")
    assert status == 404 and "Page not found" in html
    assert get(server.url)[0] == 200


def test_traversal_over_the_wire_gets_403(server: Server) -> None:
    host, port = server.url.split("//")[1].strip("/").split(":")
    for path in ("/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/agents/..%2f..%2f..%2fetc/passwd"):
        with socket.create_connection((host, int(port))) as connection:
            connection.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
            reply = connection.recv(100).decode()
        assert reply.startswith("HTTP/1.0 403"), (path, reply)


def raw_status(server: Server, path: str, headers: dict[str, str]) -> int:
    """Send one GET with exactly these headers over a real socket; return the status."""
    host, port = server.url.split("//")[1].strip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize(("host", "status"), [
    ("127.0.0.1:{port}", 200), ("localhost:{port}", 200), ("[::1]:{port}", 200), ("app.localhost", 200),
    ("10.0.0.7", 200), ("attacker.example:{port}", 403), ("attacker.example.", 403), ("127.0.0.1.nip.io", 403),
    ("", 403), ("exa mple", 403),
])
def test_only_this_machines_names_are_answered(server: Server, host: str, status: int) -> None:
    port = server.url.rstrip("/").rsplit(":", 1)[1]
    for path in ("/index.html", "/__agentpages/state", "/agents/alpha.md"):
        assert raw_status(server, path, {"Host": host.format(port=port)}) == status, (host, path)


def test_the_event_stream_refuses_pages_of_other_origins(server: Server) -> None:
    port = server.url.rstrip("/").rsplit(":", 1)[1]
    own = {"Host": f"127.0.0.1:{port}"}
    assert raw_status(server, "/__agentpages/events", {**own, "Origin": "http://attacker.example"}) == 403
    assert raw_status(server, "/__agentpages/events", {**own, "Origin": "null"}) == 403
    assert raw_status(server, "/__agentpages/events", {**own, "Origin": f"http://localhost:{port}"}) == 200


def test_a_malformed_origin_or_a_request_for_another_host_is_refused(server: Server) -> None:
    port = server.url.rstrip("/").rsplit(":", 1)[1]
    own = {"Host": f"127.0.0.1:{port}"}
    assert raw_status(server, "/__agentpages/events", {**own, "Origin": "http://[::1"}) == 403
    assert raw_status(server, "http://attacker.example/index.html", own) == 400


def test_an_allowed_name_is_answered(catalog: Path) -> None:
    from dataclasses import replace

    running = start_server(lambda: replace(load_config(catalog, catalog.parent / "site"),
                                           allowed_hosts=("preview.example",)), port=0)
    try:
        assert raw_status(running, "/index.html", {"Host": "preview.example:8000"}) == 200
        assert raw_status(running, "/index.html", {"Host": "other.example"}) == 403
    finally:
        running.stop()


def test_a_name_too_long_for_the_file_system_is_not_found_and_leaving_clients_print_nothing(
    server: Server, capfd: pytest.CaptureFixture[str],
) -> None:
    port = server.url.rstrip("/").rsplit(":", 1)[1]
    own = {"Host": f"127.0.0.1:{port}"}
    for path in ("/" + "a" * 300, "/agents/" + "%e2%82%ac" * 100 + "/index.html"):
        assert raw_status(server, path, own) == 404
    host, number = server.url.split("//")[1].strip("/").split(":")
    for path in ("/index.html", "/__agentpages/events", "/agents/alpha/index.html"):
        for _ in range(3):  # ask and leave before the answer
            with socket.create_connection((host, int(number))) as connection:
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{number}\r\n\r\n".encode())
    assert get(server.url + "index.html")[0] == 200  # still serving
    time.sleep(0.3)
    printed = capfd.readouterr()
    assert "Traceback" not in printed.err + printed.out


def test_stopping_ends_the_open_event_streams_at_once(catalog: Path) -> None:
    """A page left open holds an event stream; stopping ends it, not its next keepalive."""
    running = start_server(lambda: load_config(catalog, catalog.parent / "site"), port=0)
    events = EventStream(running.url)
    assert events.next_event()[0] == "hello"
    streaming = [thread for thread in threading.enumerate() if "process_request" in thread.name]
    assert streaming, "the stream is answered by a thread of its own"
    started = time.monotonic()
    running.stop()
    assert events.response.readline() == b"", "the stream ended"
    for thread in streaming:
        thread.join(timeout=5)
    assert time.monotonic() - started < KEEPALIVE_SECONDS / 2
    assert not any(thread.is_alive() for thread in streaming)
    events.close()


def test_an_edit_changes_the_page_and_is_announced(server: Server, catalog: Path) -> None:
    events = EventStream(server.url)
    assert events.next_event()[0] == "hello"
    (catalog / "team/alpha.md").write_text(AGENT.format(name="alpha", summary="First agent.", body="Edited body."))
    name, state = events.next_event()
    assert name == "build" and state["errors"] == []
    assert "agents/alpha/index.html" in state["changed"]
    assert "index.html" not in state["changed"], "a body edit leaves the index alone"
    assert "Edited body." in get(server.url + "agents/alpha/index.html")[1]
    events.close()


def served_search_terms(url: str) -> dict[str, list[str]]:
    """Return every term of the served search index with the slugs of the pages that have it."""
    status, text = get(url + "search/index.json")
    if status != 200:
        return {}
    index = json.loads(text)
    terms: dict[str, list[str]] = {}
    for _, name in index["chunks"]:
        status, text = get(url + "search/" + name)
        if status != 200:
            return {}  # replaced since the index was read: ask again
        for term, postings in json.loads(text).items():
            pages = list(itertools.accumulate(postings[::2]))  # each page a gap from the one before
            terms[term] = [index["pages"][page] for page in pages]
    return terms


def test_search_follows_edits_once_saves_pause(server: Server, catalog: Path) -> None:
    assert served_search_terms(server.url)["alpha"] == ["alpha"], "searchable from the start"
    (catalog / "team/alpha.md").write_text(AGENT.format(name="alpha", summary="First agent.", body="Quokka body."))
    (catalog / "team/beta.md").unlink()
    terms = wait_for(lambda: (found := served_search_terms(server.url)).get("quokka") and found)
    assert terms["quokka"] == ["alpha"] and "beta" not in terms
    chunks = {p.name for p in (server.live.out_dir / "search").iterdir()}
    index = json.loads((server.live.out_dir / "search/index.json").read_text())
    listed = {name for _, name in [*index["chunks"], *index["words"]]}
    assert chunks == {"index.json", "pages", *listed}, "old chunks and word lists are removed"
    fragments = {p.name for p in (server.live.out_dir / "search/pages").iterdir()}
    assert fragments == {f"{slug}.json" for slug in index["pages"]}, "and the fragments of pages gone"


def test_a_broken_file_shows_its_error_and_keeps_the_last_good_page(server: Server, catalog: Path) -> None:
    events = EventStream(server.url)
    events.next_event()
    (catalog / "team/alpha.md").write_text("---\nname: !!python/object:os.system x\ndescription: y\n---\nBroken.\n")
    name, state = events.next_event()
    assert len(state["errors"]) == 1
    assert state["errors"][0].endswith("team/alpha.md:2: error: YAML refused: could not determine a constructor "
                                       "for the tag 'tag:yaml.org,2002:python/object:os.system'; write plain "
                                       "values without tags or aliases [yaml-refused]")
    status, html = get(server.url + "agents/alpha/index.html")
    assert status == 200 and "Alpha body." in html, "the last good page is still served"
    (catalog / "team/alpha.md").write_text(AGENT.format(name="alpha", summary="First agent.", body="Fixed."))
    name, state = events.next_event()
    assert state["errors"] == []
    assert "Fixed." in get(server.url + "agents/alpha/index.html")[1]
    events.close()


def test_a_broken_template_shows_its_error_and_a_fix_rebuilds_everything(server: Server, catalog: Path) -> None:
    events = EventStream(server.url)
    events.next_event()
    templates = catalog.parent / "templates"
    templates.mkdir()
    (templates / "agent.html").write_text("{% extends 'base.html' %}{% block page %}{{ agent.nope() }}{% endblock %}")
    name, state = events.next_event()
    assert state["errors"] and "templates/agent.html:1: error:" in state["errors"][0]
    assert "Alpha body." in get(server.url + "agents/alpha/index.html")[1]
    (templates / "agent.html").write_text("{% extends 'base.html' %}{% block page %}<main id='ap-main'><h1>Custom {{ agent.name }}</h1></main>{% endblock %}")
    name, state = events.next_event()
    assert state["errors"] == [] and state["changed"] == ["*"]
    assert "Custom alpha" in get(server.url + "agents/alpha/index.html")[1]
    events.close()


def test_new_deleted_and_renamed_files(server: Server, catalog: Path) -> None:
    (catalog / "team/gamma.md").write_text(AGENT.format(name="gamma", summary="Third.", body="Gamma body."))
    wait_for(lambda: get(server.url + "agents/gamma/index.html")[0] == 200)
    assert "gamma" in get(server.url + "index.html")[1]
    (catalog / "team/beta.md").unlink()
    wait_for(lambda: get(server.url + "agents/beta/index.html")[0] == 404)
    assert get(server.url + "agents/beta.md")[0] == 404
    assert "beta" not in get(server.url + "index.html")[1]
    (catalog / "other").mkdir()
    os.rename(catalog / "team/gamma.md", catalog / "other/gamma.md")
    wait_for(lambda: "Other" in get(server.url + "index.html")[1])
    assert get(server.url + "agents/gamma/index.html")[0] == 200


def test_an_edit_renders_the_entries_of_that_agent_alone(catalog: Path, tmp_path: Path, monkeypatch) -> None:
    from generator.pipeline.live import LiveSite
    from generator.site.entries import EntryRenderer

    live = LiveSite(lambda: load_config(catalog, tmp_path / "site"))
    live.rebuild(full=True)
    rendered: list[str] = []
    render_one = EntryRenderer.render_one
    monkeypatch.setattr(EntryRenderer, "render_one", lambda self, agent: rendered.append(agent.slug) or render_one(self, agent))
    (catalog / "team/alpha.md").write_text(AGENT.format(name="alpha", summary="First agent, edited.", body="Alpha body."))
    live.rebuild()
    assert rendered == ["alpha"]
    LiveSite(lambda: load_config(catalog, tmp_path / "fresh")).rebuild(full=True)
    for name in ("index.html", "llms.txt"):
        assert (tmp_path / "site" / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name
    assert "First agent, edited." in (tmp_path / "site/index.html").read_text()


def test_a_burst_of_saves_gives_one_rebuild(server: Server, catalog: Path) -> None:
    events = EventStream(server.url)
    start = events.next_event()[1]["epoch"]
    path = catalog / "team/alpha.md"
    for number in range(10):  # an editor's temp file and rename, many times over
        temporary = path.with_suffix(".md.swp")
        temporary.write_text(AGENT.format(name="alpha", summary="First agent.", body=f"Save {number}."))
        os.replace(temporary, path)
    name, state = events.next_event()
    assert state["epoch"] == start + 1
    assert "Save 9." in get(server.url + "agents/alpha/index.html")[1]
    events.close()


def test_a_port_in_use_is_a_clear_error(server: Server, catalog: Path) -> None:
    port = int(server.url.rstrip("/").rsplit(":", 1)[1])
    with pytest.raises(UsageError, match=f"port {port} is in use: choose another with --port, or --port 0"):
        start_server(lambda: load_config(catalog, catalog.parent / "site"), port=port)


def test_the_open_page_updates_itself_and_shows_errors(browser, server: Server, catalog: Path) -> None:
    page = browser.new_page()
    page.goto(server.url + "agents/alpha/index.html")
    page.wait_for_timeout(200)  # let the event stream connect
    page.evaluate("window.__notReloaded = true")
    (catalog / "team/alpha.md").write_text(AGENT.format(name="alpha", summary="First agent.", body="Live edit."))
    page.wait_for_function("() => document.body?.textContent.includes('Live edit.')", timeout=10_000)
    assert page.evaluate("window.__notReloaded") is None, "the page reloaded by itself"
    (catalog / "team/alpha.md").write_bytes(b"---\nname: alpha\ndescription: caf\xe9\n---\n")
    overlay = page.locator("#agentpages-errors")
    overlay.wait_for(timeout=10_000)
    assert "team/alpha.md:3: error: skipped: the file is not UTF-8 text" in overlay.inner_text()
    assert "Live edit." in page.locator("[data-body]").inner_text()
    (catalog / "team/alpha.md").write_text(AGENT.format(name="alpha", summary="First agent.", body="Good again."))
    page.wait_for_function("() => document.body?.textContent.includes('Good again.')", timeout=10_000)
    assert page.locator("#agentpages-errors").count() == 0
    page.close()


def test_an_agents_own_element_cannot_hide_the_error_overlay(browser, server: Server, catalog: Path) -> None:
    decoy = "## Agentpages errors\n\nA heading whose id is the overlay's.\n\nBeta body."
    (catalog / "team/beta.md").write_text(AGENT.format(name="beta", summary="Second agent.", body=decoy))
    wait_for(lambda: 'id="agentpages-errors"' in get(server.url + "agents/beta/index.html")[1])
    page = browser.new_page()
    try:
        page.goto(server.url + "agents/beta/index.html")
        page.wait_for_timeout(200)  # let the event stream connect
        (catalog / "team/alpha.md").write_bytes(b"---\nname: alpha\ndescription: caf\xe9\n---\n")
        alert = page.locator("[role=alert]", has_text="the last build has errors")
        alert.wait_for(timeout=10_000)
        assert alert.is_visible() and "team/alpha.md:3: error" in alert.inner_text()
        heading = page.locator("h2#agentpages-errors")
        assert heading.count() == 1 and heading.inner_text().startswith("Agentpages errors"), "the heading stays"
    finally:
        page.close()


def test_the_preview_ignores_the_published_address(catalog: Path) -> None:
    (catalog.parent / "agentpages.yml").write_text("site_url: https://me.github.io/project/\n")
    running = start_server(lambda: load_config(catalog, catalog.parent / "site"), port=0)
    try:
        status, html = get(running.url + "no/such/page")
        links = [link for link in parse_html(html).xpath("//a/@href | //link/@href | //script/@src") if link[0] != "#"]
        assert status == 404 and "/index.html" in links and all(link.startswith("/") for link in links)
        page = parse_html(get(running.url + "agents/alpha/index.html")[1])
        assert page.xpath("//link[@rel='canonical'] | //meta[@property='og:url']") == []
        assert get(running.url + "catalog.json")[0] == 200 and get(running.url + "feed.xml")[0] == 200
    finally:
        running.stop()


def test_the_404_page_is_styled_at_any_depth(browser, server: Server) -> None:
    page = browser.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    response = page.goto(server.url + "some/deeply/missing/address/")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "Page not found"
    assert page.evaluate("getComputedStyle(document.querySelector('.button')).borderTopLeftRadius") == "6px"
    assert violations == [], "the inline stylesheet is allowed by its hash"
    page.close()


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT"])
def test_serve_stopped_by_a_signal_removes_its_folder(catalog: Path, tmp_path: Path, stop: str) -> None:
    """`kill PID` cleans up as Ctrl-C does: the preview's temporary folder goes with the server."""
    import signal
    import subprocess
    import sys

    temp = tmp_path / "temp"
    temp.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "generator", "serve", "--agents", str(catalog), "--port", "0"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(temp)},
    )
    try:
        assert process.stderr is not None
        line = ""
        while "Serving http://" not in line:
            line = process.stderr.readline()
            assert line, "the server stopped before it served"
        assert [p.name for p in temp.iterdir() if p.name.startswith("agentpages-serve-")], "it builds into TMPDIR"
        url = line.split("Serving ", 1)[1].split(" ", 1)[0]
        assert get(url)[0] == 200
        process.send_signal(getattr(signal, stop))
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
    assert list(temp.iterdir()) == [], "nothing is left in the temporary folder"


def site_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_broken_file_keeps_its_page_through_neighbours_and_full_rebuilds(catalog: Path, tmp_path: Path) -> None:
    """The last good reading keeps its bytes: its page can be rendered again while the file is broken."""
    from generator.pipeline.live import LiveSite

    live = LiveSite(lambda: load_config(catalog, tmp_path / "site"))
    live.rebuild(full=True)
    (catalog / "team/alpha.md").write_text("---\nname: alpha\ndescription: !!python/object x\n---\nBroken.\n")
    assert len(live.rebuild().errors) == 1
    (catalog / "team/aardvark.md").write_text(AGENT.format(name="aardvark", summary="New.", body="First in line."))
    result = live.rebuild()  # alpha's neighbour changed: its page is rendered again
    assert [line for line in result.errors if "changed while" in line] == [] and len(result.errors) == 1
    assert "Alpha body." in (tmp_path / "site/agents/alpha/index.html").read_text()
    assert (tmp_path / "site/agents/aardvark/index.html").is_file()
    assert b"Alpha body." in (tmp_path / "site/agents/alpha.md").read_bytes(), "the raw file is the last good one"
    result = live.rebuild(full=True)  # a template or config change
    assert len(result.errors) == 1 and "Alpha body." in (tmp_path / "site/agents/alpha/index.html").read_text()
    live.close()


def test_a_full_rebuild_after_unsaved_rebuilds_equals_a_cold_build(catalog: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from generator.pipeline.build import build
    from generator.pipeline.live import LiveSite

    live = LiveSite(lambda: load_config(catalog, tmp_path / "site"))
    live.rebuild(full=True)
    live.flush()  # saves paused once
    (catalog / "team/newbie.md").write_text(AGENT.format(name="newbie", summary="New.", body="Hello."))
    assert "agents/newbie/index.html" in live.rebuild().changed_urls
    (catalog / "team/newbie.md").unlink()
    (catalog.parent / "agentpages.yml").write_text("title: Renamed\n")
    assert live.rebuild(full=True).errors == []
    build(replace(load_config(catalog, tmp_path / "cold")), use_cache=False)
    assert site_files(tmp_path / "site") == site_files(tmp_path / "cold")
    live.close()


def test_serve_strict_shows_warnings_and_still_serves(catalog: Path, tmp_path: Path) -> None:
    from generator.pipeline.live import LiveSite

    (catalog / "team/beta.md").write_text("---\nname: beta\ndescription: Second agent.\ncolor: mauve\n---\n\nBeta.\n")
    live = LiveSite(lambda: load_config(catalog, tmp_path / "site", strict=True))
    result = live.rebuild(full=True)
    assert result.error is None and result.findings and all(f.severity == "warning" for f in result.findings)
    assert result.errors == [str(f) for f in result.findings], "strict: warnings show in the browser"
    assert (tmp_path / "site/agents/beta/index.html").is_file()
    live.close()


def test_the_memo_of_a_long_serve_does_not_grow(catalog: Path, tmp_path: Path) -> None:
    from generator.pipeline.live import LiveSite

    live = LiveSite(lambda: load_config(catalog, tmp_path / "site"))
    live.rebuild(full=True)
    for number in range(5):
        (catalog / "team/alpha.md").write_text(AGENT.format(name="alpha", summary="First agent.", body=f"Save {number}."))
        live.rebuild()
    assert live.memo is not None and len(live.memo._page_keys) == 2
    live.close()


def test_serve_stopped_during_its_first_build_leaves_nothing(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from bench.catalogs import make_catalog

    make_catalog(tmp_path / "agents", 200)  # a first build of a second or more
    temp = tmp_path / "temp"
    temp.mkdir()
    process = subprocess.Popen(  # its findings go to a file: a pipe nobody reads would fill and block it
        [sys.executable, "-m", "generator", "serve", "--agents", str(tmp_path / "agents"), "--port", "0"],
        stderr=(tmp_path / "stderr.txt").open("w"), env={**os.environ, "TMPDIR": str(temp)},
    )
    try:
        wait_for(lambda: any(temp.iterdir()), timeout=20)  # the first build has begun
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    assert list(temp.iterdir()) == [], "nothing is left in the temporary folder"


def test_serve_at_a_marketplace_root_shows_edits_to_every_kind_and_ignores_its_site_folder(tmp_path: Path) -> None:
    root = tmp_path / "market"
    files = {
        ".claude-plugin/marketplace.json": json.dumps({"name": "m", "plugins": [{"name": "p", "source": "./p"}]}),
        "p/.claude-plugin/plugin.json": json.dumps({"name": "p"}),
        "p/agents/a.md": AGENT.format(name="a", summary="Agent A.", body="A body."),
        "p/commands/run.md": "---\ndescription: Run it\n---\nRun the first way.\n",
        "p/skills/s/SKILL.md": "---\nname: s\ndescription: A skill\n---\nThe first instructions.\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    running = start_server(lambda: load_config(root, root / "site"), port=0)
    try:
        assert "Run the first way." in get(running.url + "plugins/p/commands/run/index.html")[1]
        (root / "p/commands/run.md").write_text("---\ndescription: Run it\n---\nRun the second way.\n", encoding="utf-8")
        wait_for(lambda: "Run the second way." in get(running.url + "plugins/p/commands/run/index.html")[1])
        (root / "p/skills/s/SKILL.md").write_text("---\nname: s\ndescription: A skill\n---\nNew steps.\n", encoding="utf-8")
        wait_for(lambda: "New steps." in get(running.url + "plugins/p/skills/s/index.html")[1])
        # A site built into the root beside the plugins is not read, and files there wake no rebuild.
        (root / "site" / "agents").mkdir(parents=True)
        (root / "site" / "agents" / "stray.md").write_text(AGENT.format(name="stray", summary="S.", body="S."))
        time.sleep(1)
        assert get(running.url + "plugins/p/agents/stray/index.html")[0] == 404
        assert "stray" not in get(running.url + "index.html")[1]
    finally:
        running.stop()


def git(folder: Path, *args: str) -> None:
    import subprocess

    subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args], cwd=folder, check=True,
                   capture_output=True)


@pytest.mark.parametrize("link", ["absolute", "relative"])
def test_a_checkout_that_turns_an_agent_into_a_link_out_publishes_nothing_of_its_target(
    tmp_path: Path, link: str,
) -> None:
    """`git checkout` of a branch where an agent file is a link to a secret outside the
    catalog: the page and raw file go away with a warning; the secret is never served, not even
    after later saves re-render the neighbours."""
    secret = tmp_path / "secret.txt"
    secret.write_text("---\nname: alpha\ndescription: TOKEN=hunter2-secret\n---\nTOKEN=hunter2-secret\n")
    repo = tmp_path / "repo"
    agents = write_agents(repo, {
        "alpha.md": AGENT.format(name="alpha", summary="First agent.", body="Alpha body."),
        "beta.md": AGENT.format(name="beta", summary="Second agent.", body="Beta body."),
    })
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "agents")
    git(repo, "checkout", "-q", "-b", "linked")
    (agents / "alpha.md").unlink()
    os.symlink(secret if link == "absolute" else os.path.relpath(secret, agents), agents / "alpha.md")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "link")
    git(repo, "checkout", "-q", "main")
    running = start_server(lambda: load_config(agents, repo / "site"), port=0)
    try:
        assert "Alpha body" in get(running.url + "agents/alpha/index.html")[1]
        git(repo, "checkout", "-q", "linked")
        wait_for(lambda: get(running.url + "agents/alpha.md")[0] == 404)
        (agents / "beta.md").write_text(AGENT.format(name="beta", summary="Edited.", body="Beta edited."))
        wait_for(lambda: "Beta edited" in get(running.url + "agents/beta/index.html")[1])
        for path in ("agents/alpha.md", "agents/alpha/index.html", "index.html", "catalog.json", "llms.txt",
                     "search/index.json"):
            assert "hunter2" not in get(running.url + path)[1], path
        assert not any("hunter2" in file.read_text(errors="replace")
                       for file in running.live.out_dir.rglob("*") if file.is_file())
    finally:
        running.stop()


def test_a_cache_folder_inside_the_catalog_leaves_serve_working_from_memory(catalog: Path, tmp_path: Path) -> None:
    """The cache is never kept where the repository could put one; serve then keeps its pages in memory."""
    from generator.pipeline.live import LiveSite

    live = LiveSite(lambda: load_config(catalog, tmp_path / "site"), cache_dir=catalog / ".cache")
    first = live.rebuild(full=True)
    assert first.error is None
    (catalog / "team/alpha.md").write_text(AGENT.format(name="alpha", summary="Edited.", body="Alpha body."))
    assert live.rebuild().error is None
    assert "Edited." in (tmp_path / "site/index.html").read_text()
    assert not (catalog / ".cache").exists()
    live.close()


def test_a_stop_that_hangs_after_sigterm_still_ends_and_leaves_nothing(tmp_path: Path) -> None:
    """An interrupt can land where the worker pool's shutdown then waits forever; the deadline ends it."""
    import signal
    import subprocess
    import sys

    folder = tmp_path / "agentpages-serve-x"
    folder.mkdir()
    script = f"""
import signal, time
from pathlib import Path
from generator.commands import serve
serve.STOP_DEADLINE_SECONDS = 0.5
serve._PREVIEW_FOLDERS.add(Path({str(folder)!r}))
signal.signal(signal.SIGTERM, serve._interrupt)
print("ready", flush=True)
try:
    time.sleep(60)
except KeyboardInterrupt:
    time.sleep(60)  # a shutdown that never returns
"""
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                               cwd=Path(__file__).resolve().parent.parent)
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    assert not folder.exists()


def test_an_edit_of_the_strings_file_rebuilds_the_preview(catalog: Path) -> None:
    (catalog.parent / "agentpages.yml").write_text("strings: words/fr.yml\n", encoding="utf-8")
    (catalog.parent / "words").mkdir()
    (catalog.parent / "words/fr.yml").write_text("install: Installer\n", encoding="utf-8")
    running = start_server(lambda: load_config(catalog, catalog.parent / "site"), port=0)
    try:
        assert "Installer" in get(running.url + "agents/alpha/index.html")[1]
        (catalog.parent / "words/fr.yml").write_text("install: Mettre en place\n", encoding="utf-8")
        wait_for(lambda: "Mettre en place" in get(running.url + "agents/alpha/index.html")[1])
    finally:
        running.stop()
