"""`agentpages serve`: build once, serve the site, watch the files, and reload browsers.

Like MkDocs' live reload, scaled down: a watchdog observer only marks the site dirty; one
loop waits for the saves to settle, rebuilds what changed (live.py) and tells every open
page over Server-Sent Events. HTML responses get a small script at serve time, never on
disk. A failed build shows its error over the page, and the last good pages stay served.
"""

from __future__ import annotations

import errno
import http.server
import ipaddress
import json
import logging
import mimetypes
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import webbrowser
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from generator.catalog.marketplace import MARKETPLACE_FILE
from generator.config import CONFIG_NAME, SiteConfig, builtin_templates_dir
from generator.errors import SiteError, UsageError, escape_controls
from generator.pipeline.live import LiveSite, RebuildResult

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.04
"""Quiet time after the last file event before a rebuild: editors save in bursts."""
KEEPALIVE_SECONDS = 15.0
SAVE_QUIET_SECONDS = 2.0
"""How long saves must pause before the memo is written to the cache on disk, so it never slows a save."""
SPECIAL = "/__agentpages/"
RELOAD_SCRIPT = Path(__file__).with_name("livereload.js")
RELOAD_TAG = b'<script type="module" src="/__agentpages/livereload.js"></script>'
mimetypes.add_type("text/markdown", ".md")


@dataclass
class BuildState:
    """The newest build, as browsers learn of it."""

    epoch: int = 0
    changed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> str:
        """Return the state as the event stream sends it."""
        return json.dumps({"epoch": self.epoch, "changed": self.changed, "errors": self.errors})


class ReloadHub:
    """Hands each finished build to every waiting event stream."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.state = BuildState()
        self.closed = False
        """Set when the server stops: every stream ends then, not at its next keepalive."""

    def publish(self, result: RebuildResult) -> None:
        """Announce a build: what it changed, and the errors it found."""
        with self._condition:
            self.state = BuildState(self.state.epoch + 1, result.changed_urls, result.errors)
            self._condition.notify_all()

    def wait_after(self, epoch: int, timeout: float) -> BuildState:
        """Return the state once a build newer than `epoch` is published, or at `timeout`, or
        when the hub is closed."""
        with self._condition:
            self._condition.wait_for(lambda: self.state.epoch > epoch or self.closed, timeout)
            return self.state

    def close(self) -> None:
        """Wake every waiting stream, to end."""
        with self._condition:
            self.closed = True
            self._condition.notify_all()


def make_handler(live: LiveSite, hub: ReloadHub) -> type[http.server.BaseHTTPRequestHandler]:
    """Make the request handler class serving `live`'s folder and the reload endpoints."""

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "agentpages"

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if not self.path.startswith("/"):  # `GET http://elsewhere/`: a proxy's request, not ours
                self._send(400, "text/plain; charset=utf-8", b"Bad request: ask for a path of this site\n")
                return
            path = urlsplit(self.path).path
            allowed = live.config.allowed_hosts
            origin = self.headers.get("Origin")
            if not is_allowed_host(self.headers.get("Host"), allowed) or (
                    path == SPECIAL + "events" and origin is not None and not is_allowed_origin(origin, allowed)):
                self._send(403, "text/plain; charset=utf-8", FORBIDDEN_HOST)
                return
            if path == SPECIAL + "events":
                self._stream_events()
            elif path == SPECIAL + "livereload.js":
                self._send(200, "text/javascript; charset=utf-8", RELOAD_SCRIPT.read_bytes())
            elif path == SPECIAL + "state":
                self._send(200, "application/json", hub.state.as_json().encode())
            else:
                self._serve_file(path)

        def _serve_file(self, url_path: str) -> None:
            target = resolve_site_path(live.out_dir, url_path)
            if target is None:
                self._send(403, "text/plain; charset=utf-8", b"Forbidden: outside the site\n")
                return
            with live.lock:  # a build in progress finishes its writes first
                status, file = (200, target) if _is_file(target) else (404, live.out_dir / "404.html")
                body = file.read_bytes() if _is_file(file) else b"Not found\n"
            content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            if content_type == "text/html":
                body = inject_reload_script(body)
            if content_type.startswith("text/") or content_type == "application/json":
                content_type += "; charset=utf-8"
            self._send(status, content_type, body)

        def _stream_events(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            state = hub.state
            try:
                self._write_event("hello", state)
                while True:
                    newer = hub.wait_after(state.epoch, KEEPALIVE_SECONDS)
                    if hub.closed:
                        return
                    if newer.epoch == state.epoch:
                        self.wfile.write(b": keepalive\n\n")
                    else:
                        self._write_event("build", newer)
                    self.wfile.flush()
                    state = newer
            except (BrokenPipeError, ConnectionResetError):
                pass  # the page was closed or reloaded

        def _write_event(self, name: str, state: BuildState) -> None:
            self.wfile.write(f"event: {name}\ndata: {state.as_json()}\n\n".encode())
            self.wfile.flush()

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
            log.debug("%s - %s", self.address_string(), escape_controls(format % args))

    return Handler


FORBIDDEN_HOST = (b"Forbidden: this preview answers localhost and IP addresses only. To open it by another "
                  b"name, start it with --allow-host NAME (or list the name under allowed_hosts in agentpages.yml).\n")


def is_allowed_host(host: str | None, allowed: Collection[str] = ()) -> bool:
    """Tell whether a request's Host header names this preview: an IP address, localhost (or a
    name below it), or a name the author allowed. A name a web page's DNS points at us is
    refused, so no page elsewhere reads the preview (DNS rebinding). No header at all is no
    browser's request."""
    if host is None:
        return True
    try:
        name = urlsplit(f"//{host.strip()}").hostname
    except ValueError:
        return False
    if not name:
        return False
    name = name.rstrip(".")
    if name == "localhost" or name.endswith(".localhost") or name in allowed:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_allowed_origin(origin: str, allowed: Collection[str] = ()) -> bool:
    """Tell whether a page of this origin may listen to the reload events: one of the preview's own."""
    try:
        parts = urlsplit(origin.strip())
    except ValueError:  # `http://[::1` and the like
        return False
    return parts.scheme in ("http", "https") and is_allowed_host(parts.netloc, allowed)


def resolve_site_path(root: Path, url_path: str) -> Path | None:
    """Map a URL path to a file below `root`; None for anything that would leave it."""
    decoded = unquote(unquote(url_path))  # refuse `%2e%2e` and `%252e%252e` alike
    parts = [part for part in decoded.replace("\\", "/").split("/") if part]
    if any(part in (".", "..") or "\x00" in part for part in parts):
        return None
    target = root.joinpath(*parts)
    if _is_folder(target) or url_path.endswith("/"):
        target = target / "index.html"
    return target


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long for the file system, a loop of links: nothing is there
        return False


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def inject_reload_script(html: bytes) -> bytes:
    """Add the live reload script before the last `</body>` (or at the end)."""
    position = html.rfind(b"</body>")
    if position < 0:
        return html + RELOAD_TAG
    return html[:position] + RELOAD_TAG + html[position:]


_CATALOG_HIDDEN_NAMES = frozenset({".claude-plugin", ".mcp.json"})
"""Hidden names that hold a plugin's parts; changes in any other hidden folder (`.git`) are not ours."""


class _Watcher(FileSystemEventHandler):
    """Marks the site dirty on a file event that matters; a template or config change makes it full."""

    def __init__(self, config: SiteConfig, wake: threading.Event) -> None:
        self.agents_dir = config.agents_dir
        self.out_dir = config.out_dir
        self.template_dirs = [
            config.theme_dir or config.catalog_root / "templates",
            builtin_templates_dir(),
        ]
        self.config_files = {config.catalog_root / CONFIG_NAME, *([config.config_path] if config.config_path else []),
                             *([config.strings_file] if config.strings_file else []),
                             *([config.agents_dir / MARKETPLACE_FILE] if config.marketplace else [])}
        self.wake = wake
        self.full = False
        self._lock = threading.Lock()

    def _is_catalog_file(self, path: Path) -> bool:
        """Tell whether a path may be part of the catalog: below the agents folder, and not in the
        output folder or a hidden folder (`.git`) but the plugins' own."""
        if not path.is_relative_to(self.agents_dir) or path.is_relative_to(self.out_dir):
            return False
        hidden = [part for part in path.relative_to(self.agents_dir).parts if part.startswith(".")]
        return all(part in _CATALOG_HIDDEN_NAMES for part in hidden)

    def take_full(self) -> bool:
        """Return whether a template or config changed since the last call, and forget it."""
        with self._lock:
            full, self.full = self.full, False
        return full

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [Path(str(event.src_path)), *([Path(str(event.dest_path))] if getattr(event, "dest_path", "") else [])]
        relevant = False
        for path in paths:
            if path in self.config_files or any(path.is_relative_to(d) for d in self.template_dirs):
                relevant = True
                with self._lock:
                    self.full = True
            elif self._is_catalog_file(path):
                relevant = True
        if relevant:  # anything else in the catalog's folder (.git, a built site/) is not ours
            self.wake.set()


@dataclass
class Server:
    """A running `serve`: the HTTP server, the watcher and the rebuild loop, stopped by `stop`."""

    url: str
    live: LiveSite
    hub: ReloadHub
    stop: Callable[[], None]


class _PreviewServer(http.server.ThreadingHTTPServer):
    """The HTTP server, quiet about clients that go away (a closed tab, a reload) and never
    printing a traceback for a request: what a request holds is anyone's."""

    def handle_error(self, request: object, client_address: object) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return  # the client left: nothing went wrong here
        log.warning("a request failed: %s", escape_controls(repr(error)))
        log.debug("while answering a request", exc_info=error)


def start_server(
    read_config: Callable[[], SiteConfig], host: str = "127.0.0.1", port: int = 8000,
    report: Callable[[RebuildResult, float], None] | None = None, cache_dir: Path | None = None,
) -> Server:
    """Build into a temporary folder, serve it and watch for changes; return the running server."""
    folder = Path(tempfile.mkdtemp(prefix="agentpages-serve-"))
    _PREVIEW_FOLDERS.add(folder)
    # The preview has its own address: links and 404.html must not point at the published one.
    live = LiveSite(lambda: replace(read_config(), out_dir=folder / "site", site_url=""), cache_dir)
    hub = ReloadHub()
    announce = report or (lambda result, seconds: None)
    started = time.perf_counter()
    try:
        first = live.rebuild(full=True)
    except BaseException:  # interrupted (Ctrl-C, SIGTERM): leave nothing behind
        live.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    announce(first, time.perf_counter() - started)
    hub.publish(first)
    try:
        httpd = _PreviewServer((host, port), make_handler(live, hub))
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(None, 0, f"port {port} is in use: choose another with --port, or --port 0 for a free one") from None
        raise UsageError(None, 0, f"cannot listen on {host}:{port}: {exc.strerror}") from None
    httpd.daemon_threads = True
    wake, running = threading.Event(), threading.Event()
    running.set()
    watcher = _Watcher(live.config, wake)
    observer = Observer()
    for folder_to_watch, recursive in _watched_folders(live.config):
        observer.schedule(watcher, str(folder_to_watch), recursive=recursive)
    observer.start()
    loop = threading.Thread(target=_rebuild_loop, args=(live, hub, watcher, wake, running, announce), daemon=True)
    loop.start()
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    address = httpd.server_address
    url = f"http://{address[0]}:{address[1]}/"

    def stop() -> None:
        running.clear()
        wake.set()
        hub.close()
        observer.stop()
        httpd.shutdown()
        httpd.server_close()
        observer.join(timeout=5)
        loop.join(timeout=30)
        if not loop.is_alive():  # a rebuild still running keeps the memo; the cache on disk stays as it was
            live.close()  # the memo is saved for the next serve
        shutil.rmtree(folder, ignore_errors=True)

    return Server(url, live, hub, stop)


def _watched_folders(config: SiteConfig) -> list[tuple[Path, bool]]:
    """Watch the catalog's folder (agents, templates and config, even ones made later), the theme,
    and the config and strings files wherever they are."""
    root = config.catalog_root
    folders = [(root, True), (builtin_templates_dir(), True)]
    if config.theme_dir and config.theme_dir.is_dir() and not config.theme_dir.is_relative_to(root):
        folders.append((config.theme_dir, True))
    for file in (config.config_path, config.strings_file):
        if file and not file.parent.is_relative_to(root) and (file.parent, False) not in folders:
            folders.append((file.parent, False))
    return folders


def _rebuild_loop(
    live: LiveSite, hub: ReloadHub, watcher: _Watcher, wake: threading.Event, running: threading.Event,
    announce: Callable[[RebuildResult, float], None],
) -> None:
    while running.is_set():
        if not wake.wait(SAVE_QUIET_SECONDS):
            live.flush()  # saves paused: keep the cache on disk current, off the path of any save
            wake.wait()
        while wake.is_set() and running.is_set():  # wait for the burst of events to settle
            wake.clear()
            time.sleep(DEBOUNCE_SECONDS)
        if not running.is_set():
            return
        full = watcher.take_full()  # an event between a read and a reset is never lost
        started = time.perf_counter()
        try:
            result = live.rebuild(full=full)
        except Exception as exc:  # never let a bug of ours stop the server
            log.debug("rebuild failed", exc_info=True)
            result = RebuildResult(error=SiteError(None, 0, f"internal error: {exc!r}"))
        announce(result, time.perf_counter() - started)
        hub.publish(result)


def serve(read_config: Callable[[], SiteConfig], host: str, port: int, open_browser: bool,
          report: Callable[[RebuildResult, float], None], say: Callable[[str], None],
          cache_dir: Path | None = None) -> None:
    """Run the server until Ctrl-C or SIGTERM, then stop it and remove its temporary folder."""
    # `kill PID` stops the server as Ctrl-C does, from the first build on; only the main thread
    # may set a handler.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        _serve_until_interrupted(read_config, host, port, open_browser, report, say, cache_dir)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve_until_interrupted(
    read_config: Callable[[], SiteConfig], host: str, port: int, open_browser: bool,
    report: Callable[[RebuildResult, float], None], say: Callable[[str], None], cache_dir: Path | None,
) -> None:
    try:
        server = start_server(read_config, host, port, report, cache_dir)
    except KeyboardInterrupt:
        say("Stopping")
        raise
    say(f"Serving {server.url} (Ctrl-C to stop)")
    if open_browser:
        webbrowser.open(server.url)
    try:
        while True:
            time.sleep(3600)
    finally:
        say("Stopping")
        server.stop()


STOP_DEADLINE_SECONDS = 20.0
"""How long stopping may take after SIGTERM before serve removes its folders and leaves at once."""
_PREVIEW_FOLDERS: set[Path] = set()
"""The temporary folders of the previews this process runs, for a stop that cannot wait."""


def _interrupt(number: int, frame: object) -> None:
    """Stop as Ctrl-C does, and make sure the process ends: an interrupt that lands inside the
    worker pool's own bookkeeping (starting a process, say) can leave its shutdown waiting forever."""
    deadline = threading.Timer(STOP_DEADLINE_SECONDS, _leave_now)
    deadline.daemon = True
    deadline.start()
    raise KeyboardInterrupt


def _leave_now() -> None:
    log.warning("stopping took over %.0f s; removing the preview and leaving", STOP_DEADLINE_SECONDS)
    for folder in list(_PREVIEW_FOLDERS):
        shutil.rmtree(folder, ignore_errors=True)
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()
    logging.shutdown()
    os._exit(0)
