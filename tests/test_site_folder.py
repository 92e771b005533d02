"""The look at a site folder in a child process: the same stamp and files as a look in the
build's own process, a fall-back when the child fails, and no child left behind."""

from __future__ import annotations

import gc
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import DEMO_AGENTS, REPO
from test_cache import tree, tree_of_cold_build

from generator.pipeline.read import RACY_SECONDS
from generator.store import site_folder
from generator.store.site_folder import SiteFiles

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the child process is Linux's")

ODD_NAMES = ["index.html", "agents/a/index.html", "agents/a.md", "agents/two\nlines.md",
             "agents/not-utf8-\udcff.md", "agents/space and tab\t.md", "search/1.json"]  # fmt: skip


@pytest.fixture(autouse=True)
def alone(request: pytest.FixtureRequest, monkeypatch) -> None:
    """Count the test's process as running one thread, as a build's own process does: tests
    before these leave idle daemon threads behind (a stopped server's, an event loop's watcher);
    and look at these small folders in a child all the same."""
    monkeypatch.setattr(site_folder, "CHILD_FROM_PATHS", 0)
    if "threads_run" not in request.node.name:
        monkeypatch.setattr(site_folder.threading, "active_count", lambda: 1)


def make_site(root: Path) -> None:
    for name in ODD_NAMES:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.fsencode(name))


def test_a_look_in_the_background_sees_what_a_look_here_sees(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_site(site)
    walked = SiteFiles(site)
    layout = walked.layout()
    assert layout is not None and "agents/two\nlines.md" in layout and "agents/not-utf8-\udcff.md" in layout
    for given in (None, layout, list(reversed(layout))):  # walked, by a layout, by one out of order
        background = SiteFiles(site, given, in_background=True)
        assert background._look is not None, "a child looks"
        assert background.stamp() == walked.stamp()
        assert background.entries == walked.entries
        assert background.layout() == layout


def test_a_folder_changed_after_the_look_started_is_seen_by_looking_again(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_site(site)
    layout = SiteFiles(site).layout()
    background = SiteFiles(site, layout, in_background=True)
    assert background._look is not None
    os.waitid(os.P_PID, background._look._pid, os.WEXITED | os.WNOWAIT)  # it has looked: now the build writes
    (site / "agents/a.md").write_text("written by the build")
    background.look_again(["agents/a.md"])
    assert background.stamp() == SiteFiles(site).stamp()


def test_a_missing_folder_looked_at_in_the_background_matches_no_other(tmp_path: Path) -> None:
    nowhere = SiteFiles(tmp_path / "nowhere", ["", "index.html"], in_background=True)
    assert nowhere.entries is None
    assert nowhere.stamp().startswith("unknown")
    assert nowhere.stamp() != SiteFiles(tmp_path / "nowhere", in_background=True).stamp()


def test_a_child_that_fails_leaves_the_look_to_the_build(tmp_path: Path, monkeypatch) -> None:
    site = tmp_path / "site"
    make_site(site)
    parent = os.getpid()
    describe = site_folder._describe
    in_parent: list[int] = []

    def fails_in_the_child(root: Path, layout: object) -> dict[str, str]:
        if os.getpid() != parent:
            os._exit(3)
        in_parent.append(1)
        return describe(root, layout)

    monkeypatch.setattr(site_folder, "_describe", fails_in_the_child)
    background = SiteFiles(site, in_background=True)
    assert background._look is not None
    assert background.stamp() == SiteFiles(site).stamp()
    assert in_parent == [1, 1], "the build looked itself, once for each"


def test_a_look_never_asked_for_leaves_no_child(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_site(site)
    background = SiteFiles(site, in_background=True)
    assert background._look is not None
    pid = background._look._pid
    del background
    gc.collect()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_no_child_is_forked_while_other_threads_run(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_site(site)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        alone = SiteFiles(site, in_background=True)
        assert alone._look is None
        assert alone.stamp() == SiteFiles(site).stamp()
    finally:
        stop.set()
        other.join()


def test_an_interrupt_ends_the_child_at_once_and_the_build_looks_itself(tmp_path: Path, monkeypatch) -> None:
    """Ctrl-C reaches the child too: it ends then, not after its look, and the build (if it
    goes on) looks at the folder itself."""
    site = tmp_path / "site"
    make_site(site)
    parent = os.getpid()
    describe = site_folder._describe

    def slow_in_the_child(root: Path, layout: object) -> dict[str, str]:
        if os.getpid() != parent:
            time.sleep(30)
        return describe(root, layout)

    monkeypatch.setattr(site_folder, "_describe", slow_in_the_child)
    background = SiteFiles(site, in_background=True)
    assert background._look is not None
    started = time.monotonic()
    os.kill(background._look._pid, signal.SIGINT)
    assert background.stamp() == SiteFiles(site).stamp()
    assert time.monotonic() - started < 10, "the child ended at the interrupt, not after its look"


def test_a_build_from_the_command_line_looks_in_a_child_and_equals_a_cold_build(tmp_path: Path) -> None:
    """The command line's own process, a thread alone, looks at the site folder in the background
    (here the demo's small one too); after an edit its site is still byte for byte a cold build's."""
    agents = tmp_path / "repository/agents"
    shutil.copytree(DEMO_AGENTS, agents)
    edited = sorted(agents.rglob("*.md"))[0]
    command_line = ("import sys\nfrom generator.store import site_folder\nsite_folder.CHILD_FROM_PATHS = 0\n"
                    "from generator.commands.cli import main\nsys.exit(main(sys.argv[1:]))\n")

    def build() -> str:
        done = subprocess.run([sys.executable, "-c", command_line, "build", "--agents", "agents", "--verbose",
                               "--cache-dir", str(tmp_path / "cache")], cwd=agents.parent, capture_output=True,
                              text=True, check=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
        return done.stderr

    build()
    time.sleep(RACY_SECONDS + 0.1)
    assert "in a child process" in build(), "nothing changed: the stamp came from the child"
    edited.write_text(edited.read_text() + "\nOne more line.\n")
    time.sleep(RACY_SECONDS + 0.1)
    printed = build()
    assert "in a child process" in printed and "1 miss" in printed
    assert tree(agents.parent / "site") == tree_of_cold_build(agents, tmp_path / "cold")
