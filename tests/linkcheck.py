"""A link checker for built sites: crawl over HTTP under a sub-path, or walk the files on disk.

Every page is parsed as HTML; every href and src is followed; every #fragment must name an
element on its target page. Machine-readable files (catalog.json, llms.txt, sitemap.xml,
feed.xml) are read too, and the addresses they list must exist.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from conftest import parse_html
from lxml import etree

# Files a site holds besides what its pages link to; checked when present.
MACHINE_FILES = ("catalog.json", "llms.txt", "sitemap.xml", "feed.xml", "robots.txt", "404.html")
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")
_MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
_ATOM = "{http://www.w3.org/2005/Atom}"
_SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@dataclass(frozen=True)
class Broken:
    """A link that leads nowhere."""

    page: str
    target: str
    reason: str


@dataclass
class CrawlResult:
    """What a crawl visited and what it found broken."""

    visited: set[str] = field(default_factory=set)
    broken: list[Broken] = field(default_factory=list)


# -- over HTTP --------------------------------------------------------------------------


class _SubPathHandler(http.server.SimpleHTTPRequestHandler):
    """Serve a folder under a path prefix only, with its 404.html for anything missing, as Pages does."""

    prefix = "/"

    def translate_path(self, path: str) -> str:
        clean = urlsplit(path).path
        if not clean.startswith(self.prefix):
            return str(Path(self.directory) / "\0missing")
        return super().translate_path("/" + clean[len(self.prefix):])

    def list_directory(self, path: str) -> None:
        # Static hosts list no folders: a link to a folder without index.html is broken.
        self.send_error(404)
        return None

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


@contextlib.contextmanager
def serve_under(folder: Path, prefix: str) -> Iterator[str]:
    """Serve `folder` at http://127.0.0.1:PORT`prefix` (and nowhere else); yield that URL."""
    handler = type("Handler", (_SubPathHandler,), {"prefix": prefix})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    finally:
        server.shutdown()
        server.server_close()


def crawl_http(base_url: str) -> CrawlResult:
    """Follow every link from the site's index and machine files; report what does not resolve."""
    result = CrawlResult()
    pages: dict[str, etree._Element] = {}
    fragments: list[tuple[str, str, str]] = []
    queue = [base_url, base_url + "index.html", *(base_url + name for name in MACHINE_FILES)]
    optional = {base_url + name for name in MACHINE_FILES}
    while queue:
        url = queue.pop()
        if url in result.visited:
            continue
        result.visited.add(url)
        status, content_type, body = _fetch(url)
        if status != 200:
            if url not in optional:
                result.broken.append(Broken("(crawl)", url, f"HTTP {status}"))
            continue
        for target in _links_in(url, content_type, body, pages):
            address, fragment = urldefrag(target)
            if not address.startswith(base_url):
                if urlsplit(address).netloc == urlsplit(base_url).netloc:
                    result.broken.append(Broken(url, target, "leaves the site's sub-path"))
                continue
            if fragment:
                fragments.append((url, address, unquote(fragment)))
            if address not in result.visited:
                queue.append(address)
    for page, address, fragment in fragments:
        if address in pages and not _has_anchor(pages[address], fragment):
            result.broken.append(Broken(page, f"{address}#{fragment}", "no element with this id"))
    return result


def check_not_found_page(address: str, base_url: str) -> CrawlResult:
    """Request a missing address, as a reader might, and check the links of the 404 page served."""
    result = CrawlResult({address})
    status, content_type, body = _fetch(address)
    if status != 404 or "html" not in content_type:
        result.broken.append(Broken(address, address, f"HTTP {status} {content_type}, not the 404 page"))
        return result
    pages: dict[str, etree._Element] = {}
    for target in _links_in(address, content_type, body, pages):
        page, fragment = urldefrag(target)
        if page == address:
            if not _has_anchor(pages[address], unquote(fragment)):
                result.broken.append(Broken(address, target, "no element with this id"))
            continue
        if urlsplit(target).netloc != urlsplit(base_url).netloc:
            continue
        if not target.startswith(base_url):
            result.broken.append(Broken(address, target, "leaves the site's sub-path"))
        elif _fetch(urldefrag(target)[0])[0] != 200:
            result.broken.append(Broken(address, target, "does not resolve"))
    return result


def _fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


# -- on disk ----------------------------------------------------------------------------


def check_files(root: Path) -> CrawlResult:
    """Resolve every relative link of every page as a browser does for file:// addresses."""
    result = CrawlResult()
    pages: dict[str, etree._Element] = {}
    fragments: list[tuple[str, str, str]] = []
    base = root.resolve().as_uri() + "/"
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "404.html")
    for path in files:
        url = path.resolve().as_uri()
        result.visited.add(url)
        content_type = "text/html" if path.suffix == ".html" else ""
        for target in _links_in(url, content_type, path.read_bytes(), pages):
            address, fragment = urldefrag(target)
            if not address.startswith("file:"):
                continue
            if not address.startswith(base):
                result.broken.append(Broken(url, target, "leaves the site's folder"))
                continue
            target_path = Path(unquote(urlsplit(address).path))
            if not target_path.is_file():
                result.broken.append(Broken(url, target, "no such file"))
            elif fragment:
                fragments.append((url, target_path.as_uri(), unquote(fragment)))
    for page, address, fragment in fragments:
        document = pages[address] if address in pages else parse_html(Path(unquote(urlsplit(address).path)))
        if not _has_anchor(document, fragment):
            result.broken.append(Broken(page, f"{address}#{fragment}", "no element with this id"))
    return result


# -- reading links ----------------------------------------------------------------------


def _links_in(url: str, content_type: str, body: bytes, pages: dict[str, etree._Element]) -> list[str]:
    """Return the absolute addresses a file links to, parsing it by its kind."""
    path = urlsplit(url).path
    if "html" in content_type or path.endswith((".html", "/")):
        document = parse_html(body.decode("utf-8"))
        pages[url] = document
        return [urljoin(url, link) for link in _html_links(document)]
    if path.endswith(".css"):
        return [urljoin(url, link) for link in _CSS_URL.findall(body.decode("utf-8")) if not link.startswith("data:")]
    if path.endswith("catalog.json"):
        return [urljoin(url, link) for link in _catalog_links(json.loads(body))]
    if path.endswith("llms.txt"):
        return [urljoin(url, link) for link in _MARKDOWN_LINK.findall(body.decode("utf-8"))]
    if path.endswith(".xml"):
        return [urljoin(url, link) for link in _xml_links(etree.fromstring(body))]
    return []


def _html_links(document: etree._Element) -> list[str]:
    links = []
    for element in document.xpath("//*[@href or @src]"):
        for attribute in ("href", "src"):
            value = (element.get(attribute) or "").strip()
            if value and not value.startswith(("mailto:", "data:")):
                links.append(value)
    return links


def _catalog_links(catalog: dict) -> list[str]:
    links = [catalog.get("$schema", "")]
    for agent in catalog.get("agents", []):
        links += [agent["url"], agent["raw_url"]]
        links += ["%s#%s" % (agent["url"], section["id"]) for section in _walk_sections(agent["sections"])]
    return [link for link in links if link]


def _walk_sections(sections: list[dict]) -> Iterator[dict]:
    for section in sections:
        yield section
        yield from _walk_sections(section.get("children", []))


def _xml_links(root: etree._Element) -> list[str]:
    links = [loc.text or "" for loc in root.iter(f"{_SITEMAP}loc")]
    links += [link.get("href", "") for link in root.iter(f"{_ATOM}link")]
    return links


def _has_anchor(document: etree._Element, fragment: str) -> bool:
    if fragment in ("", "top"):
        return True
    return bool(document.xpath("//*[@id=$name] | //a[@name=$name]", name=fragment))
