"""The first load: nothing moves once the page has painted (Chromium's layout-shift entries), the
controls scripts drive are in the HTML from the start, and the install kit works as served."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import DEMO_AGENTS, build_catalog, parse_html, serve_folder

SEED_PAGE = "agents/senior-backend-engineer/index.html"
PAGES = ["index.html", SEED_PAGE, "agents/go-concurrency-reviewer/index.html"]
WATCH_SHIFTS = """
window.shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (!entry.hadRecentInput) window.shifts.push([entry.value, entry.sources.map((s) => s.node && s.node.nodeName).join()]);
  }
}).observe({ type: "layout-shift", buffered: true });
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [390, 1280])
def test_nothing_moves_after_the_first_paint(browser, demo_site: Path, scheme: str, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    with serve_folder(demo_site) as url:
        for address in PAGES:
            page = context.new_page()
            page.add_init_script(WATCH_SHIFTS)
            page.goto(url + address)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(500)
            shifts = page.evaluate("window.shifts")
            assert sum(value for value, _ in shifts) < 0.01, (address, shifts)
            page.close()
    context.close()


def test_without_scripts_their_controls_stay_out_of_the_way(browser, demo_site: Path) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    with serve_folder(demo_site) as url:
        page.goto(url + "index.html")
        assert not page.locator("[data-finder]").is_visible()
        assert not page.locator("[data-theme-toggle]").is_visible()
        assert page.locator(".card").count() == 11, "every card shows"
        page.goto(url + SEED_PAGE)
        assert not page.get_by_role("button", name="Copy agent file").is_visible()
        assert page.get_by_role("link", name="Download senior-backend-engineer.md").is_visible()
        assert page.locator(".contents-menu a").first.is_visible(), "the contents show, unfolded"
    context.close()


def test_the_index_has_a_meta_description(demo_site: Path) -> None:
    description = parse_html(demo_site / "index.html").xpath("//meta[@name='description']/@content")
    assert description and "11 agents" in description[0]


def test_with_site_url_the_install_commands_are_whole_and_never_break_inside_a_word(browser, tmp_path: Path) -> None:
    shutil.copytree(DEMO_AGENTS, tmp_path / "agents")
    (tmp_path / "agentpages.yml").write_text("site_url: https://example.org/agents/\n")
    build_catalog(tmp_path / "agents", tmp_path / "site")
    seed = parse_html(tmp_path / "site" / SEED_PAGE)
    commands = ["".join(code.itertext()) for code in seed.xpath("//code[@data-install-command]")]
    assert commands and all("curl -fsSL https://example.org/agents/agents/senior-backend-engineer.md" in c for c in commands)
    assert not seed.xpath("//*[@data-no-install-command]")
    for width in (390, 1280):
        with serve_folder(tmp_path / "site") as url:
            context = browser.new_context(viewport={"width": width, "height": 900})
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
            page = context.new_page()
            page.goto(url + SEED_PAGE)
            command = page.locator("pre.command").first
            lines = command.evaluate("pre => pre.getClientRects().length && getComputedStyle(pre).whiteSpace")
            assert lines == "pre", "one line, scrolled sideways, never cut inside a word"
            assert command.locator("code").inner_text().startswith("mkdir -p .claude/agents && curl -fsSL https://")
            page.get_by_role("button", name="Copy agent file").click()  # fetched from where the page is served
            raw = (DEMO_AGENTS / "engineering/senior-backend-engineer.md").read_text(encoding="utf-8")
            page.wait_for_function("t => navigator.clipboard.readText().then(c => c === t)", arg=raw)
            context.close()


def test_a_catalogs_own_css_and_js_load_under_the_strict_policy(browser, tmp_path: Path) -> None:
    shutil.copytree(DEMO_AGENTS, tmp_path / "agents")
    (tmp_path / "brand").mkdir()
    (tmp_path / "brand/brand.css").write_text(".site-title { color: rgb(1, 2, 3); }\n")
    (tmp_path / "brand/brand.js").write_text("document.documentElement.dataset.brand = 'on';\n")
    (tmp_path / "agentpages.yml").write_text(
        "extra_css: [brand/brand.css]\nextra_js: [brand/brand.js]\ncsp_origins: [https://stats.example.org]\n")
    build_catalog(tmp_path / "agents", tmp_path / "site")
    assert (tmp_path / "site/assets/extra/brand.css").is_file()
    policy = parse_html(tmp_path / "site" / SEED_PAGE).xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    assert "script-src 'self' https://stats.example.org;" in policy and "style-src 'self';" in policy
    page = browser.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    with serve_folder(tmp_path / "site") as url:
        for address in ("index.html", SEED_PAGE, "404.html"):
            page.goto(url + address)
            page.wait_for_function("() => document.documentElement.dataset.brand === 'on'")
            assert page.evaluate("getComputedStyle(document.querySelector('.site-title')).color") == "rgb(1, 2, 3)"
    assert violations == []
    page.close()
