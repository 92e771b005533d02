"""The demo site in real headless Chromium: navigation, search, filters, theme, copy, menus."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import DEMO_AGENTS, build_catalog, serve_folder

SEED_PAGE = "agents/senior-backend-engineer/index.html"


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("demo-site")
    shutil.copytree(DEMO_AGENTS, root / "agents")
    build_catalog(root / "agents", root / "site")
    with serve_folder(root / "site") as url:
        yield url


@pytest.fixture
def page(browser, site_url: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_url.rstrip("/"))
    page = context.new_page()
    page.external_requests = []  # type: ignore[attr-defined]
    page.on("request", lambda request: page.external_requests.append(request.url)  # type: ignore[attr-defined]
            if urlsplit(request.url).hostname != "127.0.0.1" else None)
    yield page
    assert page.external_requests == [], "the site makes no request off this host"  # type: ignore[attr-defined]
    context.close()


SHOWN = "[...document.querySelectorAll('[data-agent]')].filter(c => c.offsetParent !== null)"


def visible_cards(page) -> list[str]:
    return page.evaluate(f"() => {SHOWN}.map(c => c.dataset.agent)")


def test_contents_link_scrolls_and_the_highlight_follows(page, site_url: str) -> None:
    page.goto(site_url + SEED_PAGE)
    nav = page.locator("nav[aria-label='Contents']")
    nav.get_by_role("link", name="Working Methodology").click()
    page.wait_for_function("() => location.hash === '#working-methodology'")
    heading = page.locator("#working-methodology")
    assert 0 <= heading.bounding_box()["y"] < 100, "the section is scrolled to the top"
    page.wait_for_function(
        "() => document.querySelector('[aria-current]')?.getAttribute('href') === '#working-methodology'"
    )
    nav.get_by_role("link", name="API Development").click()
    page.wait_for_function("() => document.querySelector('[aria-current]')?.getAttribute('href') === '#api-development'")


def test_every_heading_has_a_permalink(page, site_url: str) -> None:
    page.goto(site_url + SEED_PAGE)
    headings = page.eval_on_selector_all(
        "[data-body] :is(h2, h3)", "hs => hs.map(h => [h.id, h.querySelector('a.anchor')?.getAttribute('href')])"
    )
    assert len(headings) == 19
    assert all(href == f"#{heading_id}" for heading_id, href in headings)


def test_search_narrows_the_index_and_clear_restores_it(page, site_url: str) -> None:
    page.goto(site_url + "index.html")
    everyone = visible_cards(page)
    assert len(everyone) == 11
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "ap-search"
    page.keyboard.type("goroutines")
    page.wait_for_function(f"() => {SHOWN}.length === 1")
    assert visible_cards(page) == ["go-concurrency-reviewer"]
    assert page.locator("[data-result-count]").inner_text() == "1 of 11 agents"
    assert "q=goroutines" in page.url
    page.get_by_role("button", name="Clear").click()
    page.wait_for_function(f"() => {SHOWN}.length === 11")
    assert page.locator("[data-result-count]").inner_text() == ""


def test_search_reaches_examples_headings_and_body_text(page, site_url: str) -> None:
    page.goto(site_url + "index.html")
    for query, expected in [("monolith", "senior-backend-engineer"), ("CrashLoopBackOff", "kubernetes-deployment-engineer")]:
        page.fill("#ap-search", query)
        page.wait_for_function(f"() => {SHOWN}.some(c => c.dataset.agent === '{expected}')")


@pytest.mark.parametrize(("group", "value"), [("color", "green"), ("model", "haiku"), ("category", "Operations"), ("tool", "no tools")])
def test_each_filter_narrows_and_restores(page, site_url: str, group: str, value: str) -> None:
    page.goto(site_url + "index.html")
    chip = page.locator(f"[data-filter='{group}'][data-value='{value}']")
    expected = int(chip.locator(".chip-count").inner_text())
    chip.click()
    assert chip.get_attribute("aria-pressed") == "true"
    assert len(visible_cards(page)) == expected < 11
    chip.click()
    assert len(visible_cards(page)) == 11


def test_filters_combine_and_live_in_the_url(page, site_url: str) -> None:
    page.goto(site_url + "index.html?category=Engineering&model=opus")
    assert sorted(visible_cards(page)) == ["database-migration-specialist", "test-strategy-advisor"]
    page.locator("[data-filter='color'][data-value='pink']").click()
    assert visible_cards(page) == ["test-strategy-advisor"]
    assert page.locator("[data-result-count]").inner_text() == "1 of 11 agents"
    shared = page.url
    page.goto(shared)
    assert visible_cards(page) == ["test-strategy-advisor"]


def test_theme_toggle_persists_across_pages(page, site_url: str) -> None:
    page.emulate_media(color_scheme="light")
    page.goto(site_url + "index.html")
    assert page.evaluate("getComputedStyle(document.documentElement).backgroundColor") == "rgb(255, 255, 255)"
    page.get_by_role("button", name="Switch to dark theme").click()
    dark = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert dark != "rgb(255, 255, 255)"
    page.goto(site_url + SEED_PAGE)
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("getComputedStyle(document.documentElement).backgroundColor") == dark
    page.get_by_role("button", name="Switch to light theme").click()
    page.goto(site_url + "index.html")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"


def test_copy_buttons_put_the_right_text_on_the_clipboard(page, site_url: str) -> None:
    page.goto(site_url + "agents/go-concurrency-reviewer/index.html")
    block = page.locator("[data-body] .highlight").first
    block.locator(".copy-button").click()
    code = block.locator("pre").inner_text().rstrip("\n")
    page.wait_for_function("t => navigator.clipboard.readText().then(c => c === t)", arg=code)
    page.get_by_role("button", name="Copy agent file").click()
    raw = (DEMO_AGENTS / "engineering/go-concurrency-reviewer.md").read_text(encoding="utf-8")
    page.wait_for_function("t => navigator.clipboard.readText().then(c => c === t)", arg=raw)
    # Built without site_url: no curl line (it would need the full address), and it says why.
    assert page.locator("pre.command").count() == 0
    assert "site_url" in page.locator("[data-no-install-command]").inner_text()


def test_mobile_contents_menu_opens(browser, site_url: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(site_url + SEED_PAGE)
    menu = page.locator("[data-contents-menu]")
    assert menu.get_attribute("open") is None, "folded on a narrow screen"
    assert not page.get_by_role("link", name="Decision Framework").is_visible()
    page.get_by_text("Contents", exact=True).click()
    assert page.get_by_role("link", name="Decision Framework").is_visible()
    page.get_by_role("link", name="Decision Framework").click()
    page.wait_for_function("() => location.hash === '#decision-framework'")
    assert menu.get_attribute("open") is None, "choosing a section folds the menu again"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, "nothing overflows sideways"
    context.close()


@pytest.mark.parametrize("width", [320, 768, 1600])
def test_no_page_overflows_sideways(browser, site_url: str, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    for path in ("index.html", SEED_PAGE, "agents/kubernetes-deployment-engineer/index.html", "404.html"):
        page.goto(site_url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
    context.close()


def test_without_javascript_everything_shows_and_links_work(browser, site_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site_url + "index.html")
    assert len(visible_cards(page)) == 11
    assert not page.locator("[data-finder]").is_visible(), "no search box that cannot work"
    page.get_by_role("link", name="incident-commander").click()
    page.wait_for_url("**/agents/incident-commander/index.html")
    assert page.locator("h1").inner_text() == "incident-commander"
    assert page.get_by_role("link", name="Download incident-commander.md").is_visible()
    assert page.locator("[data-contents-menu]").get_attribute("open") is not None
    context.close()


def test_keyboard_reaches_the_skip_link_first(page, site_url: str) -> None:
    page.goto(site_url + SEED_PAGE)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#ap-main"


def test_print_shows_the_agent_without_the_chrome(page, site_url: str) -> None:
    page.goto(site_url + SEED_PAGE)
    page.emulate_media(media="print")
    for selector in (".site-header", ".contents", ".install", ".pager"):
        assert not page.locator(selector).is_visible(), selector
    assert page.locator("[data-body]").is_visible() and page.locator("[data-example]").first.is_visible()


def test_results_come_best_first(page, site_url: str) -> None:
    page.goto(site_url + "index.html")
    page.fill("#ap-search", "kubernetes")
    page.wait_for_function(f"() => {SHOWN}.length > 0 && document.querySelector('[data-results]').offsetParent !== null")
    assert visible_cards(page)[0] == "kubernetes-deployment-engineer"


def test_opened_from_disk_the_scripts_run_and_search_uses_the_cards(browser, tmp_path: Path) -> None:
    shutil.copytree(DEMO_AGENTS, tmp_path / "agents")
    build_catalog(tmp_path / "agents", tmp_path / "site")
    page = browser.new_page()
    page.goto((tmp_path / "site/index.html").as_uri())
    assert page.locator("[data-finder]").is_visible()
    page.fill("#ap-search", "goroutines")
    page.wait_for_function(f"() => {SHOWN}.length === 1")
    assert visible_cards(page) == ["go-concurrency-reviewer"]
    page.goto((tmp_path / "site" / SEED_PAGE).as_uri())
    assert page.get_by_role("button", name="Switch to dark theme").is_visible()
    page.close()
