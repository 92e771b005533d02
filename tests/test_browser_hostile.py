"""In a real browser, no page built from hostile files runs a script or opens a dialog."""

from __future__ import annotations

from pathlib import Path

from conftest import build_catalog, serve_folder
from test_hostile import make_hostile_catalog

# Every payload in the hostile catalog either calls alert() or sets window.__pwned.
CHECK_PWNED = "() => typeof window.__pwned !== 'undefined' || typeof parent.__pwned !== 'undefined'"


def test_hostile_pages_run_nothing_in_chromium(browser, tmp_path: Path) -> None:
    agents = make_hostile_catalog(tmp_path)
    site = tmp_path / "site"
    build_catalog(agents, site)
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    dialogs: list[str] = []
    policy_violations: list[str] = []
    context = browser.new_context()
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: policy_violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    with serve_folder(site) as base_url:
        for path in pages:
            page.goto(base_url + path, wait_until="load")
            page.wait_for_timeout(50)  # let any onerror/onload handler fire
            for element in page.query_selector_all("details"):
                element.evaluate("node => node.open = !node.open")  # would fire ontoggle
            assert not page.evaluate(CHECK_PWNED), path
    context.close()
    assert dialogs == []
    # Sanitizing alone keeps scripts out; the policy is a second wall that is never needed.
    assert policy_violations == []
    assert len(pages) > 10
