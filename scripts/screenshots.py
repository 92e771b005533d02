"""Take the README's screenshots from the demo catalog, so they show the site as it is.

    python scripts/screenshots.py [--out DIR]

Builds `agents/` into a temporary folder, serves it on 127.0.0.1 and has Debian's headless
Chromium (/usr/bin/chromium, driven by Playwright) capture the index and an agent page in
the light and the dark theme into docs/images/ (or `--out`).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

from generator.config import load_config
from generator.errors import Report
from generator.pipeline.build import build

REPO = Path(__file__).resolve().parent.parent
IMAGES = REPO / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
SHOTS = {
    "index": "index.html",
    "agent": "agents/senior-backend-engineer/index.html",
}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


def main(argv: list[str] | None = None) -> None:
    """Build the demo site and capture each page in each theme."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=IMAGES, help=f"where the images go (default: {IMAGES.relative_to(REPO)})")
    images = parser.parse_args(argv).out
    with tempfile.TemporaryDirectory() as folder:
        site = Path(folder) / "site"
        build(load_config(REPO / "agents", site), Report())
        handler = functools.partial(QuietHandler, directory=str(site))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        images.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for theme in ("light", "dark"):
                context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=theme)
                page = context.new_page()
                for name, path in SHOTS.items():
                    page.goto(base + path, wait_until="networkidle")
                    target = images / f"{name}-{theme}.png"
                    page.screenshot(path=str(target))
                    print(f"wrote {target}")
                context.close()
            browser.close()
        server.shutdown()


if __name__ == "__main__":
    main()
