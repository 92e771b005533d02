"""Command line: parse arguments, set up logging, run a command, map errors to exit codes."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from generator import __version__
from generator.catalog.marketplace import is_marketplace
from generator.config import SITE_URL_VARIABLE, SiteConfig, load_config
from generator.errors import (
    FileError,
    Finding,
    Report,
    SiteError,
    UsageError,
    count_findings,
    count_findings_in,
    display_path,
    format_findings,
    relative_path,
)
from generator.pipeline.build import BuildResult, build
from generator.pipeline.memo import CACHE_DIR_VARIABLE
from generator.pipeline.read import list_agent_files, load_and_check
from generator.pipeline.workers import collect_as_usual, collect_rarely

if TYPE_CHECKING:
    from generator.pipeline.live import RebuildResult

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("generator")


def make_parser() -> argparse.ArgumentParser:
    """Describe the commands and their options."""
    parser = argparse.ArgumentParser(
        prog="agentpages",
        description="Build a static documentation site from a catalog of AI agent files.",
    )
    parser.add_argument("--version", action="version", version=f"agentpages {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    build_parser = commands.add_parser(
        "build",
        help="render every agent under the agents folder into a site",
        description="Render every agent file under the agents folder into a static site.",
    )
    _add_catalog_options(build_parser, strict_help="fail on any error or warning, leaving the site unchanged")
    build_parser.add_argument("--out", type=Path, default=Path("site"), metavar="DIR",
                              help="where to write the site (default: site/)")
    build_parser.add_argument("--no-cache", action="store_true",
                              help="render every page afresh, neither reading nor writing the build cache")
    _add_cache_option(build_parser, "the build cache")
    build_parser.add_argument("--site-url", default=None, metavar="URL",
                              help=f"the published address, overriding site_url (default: ${SITE_URL_VARIABLE} "
                                   "if set, as the GitHub Pages workflow sets it)")
    build_parser.set_defaults(run=run_build, parser=build_parser)

    check_parser = commands.add_parser(
        "check",
        help="lint agent files without writing a site",
        description="Check every agent file against the rules and print one line per finding.",
    )
    _add_catalog_options(check_parser, strict_help="fail on warnings too, not only on errors")
    check_parser.add_argument("--format", choices=("text", "json", "github"), default="text",
                              help="text (default), json for tools, or github for Actions annotations")
    check_parser.set_defaults(run=run_check, parser=check_parser)

    serve_parser = commands.add_parser(
        "serve",
        help="preview the site, rebuilding and reloading the browser on every save",
        description="Build the site, serve it, and rebuild and reload open pages whenever a file changes.",
    )
    _add_catalog_options(serve_parser, strict_help="show warnings in the browser too, not only errors")
    serve_parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, default=8000,
                              help="port to listen on (default: 8000; 0 picks a free one)")
    serve_parser.add_argument("--open", action="store_true", help="open the site in a browser")
    serve_parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                              help="a host name to answer besides localhost and IP addresses (repeatable; "
                                   "or allowed_hosts in agentpages.yml)")
    _add_cache_option(serve_parser, "serve's cache")
    serve_parser.set_defaults(run=run_serve, parser=serve_parser)

    new_parser = commands.add_parser(
        "new",
        help="start a catalog repository: an example agent, config and a GitHub Pages workflow",
        description="Create a catalog repository in DIR: an example agent, agentpages.yml, a README, "
                    "requirements.txt and a GitHub Pages workflow. Existing files are never overwritten.",
    )
    new_parser.add_argument("folder", nargs="?", type=Path, default=Path("."), metavar="DIR",
                            help="where to create it (default: the current folder)")
    new_parser.add_argument("--marketplace", action="store_true",
                            help="start a Claude Code plugin marketplace instead: one plugin holding an agent, "
                                 "a slash command and a skill, with its manifests")
    new_parser.add_argument("-v", "--verbose", action="store_true", help="show debug messages and tracebacks")
    new_parser.set_defaults(run=run_new, parser=new_parser)
    return parser


def _add_cache_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                        help=f"where to keep {what} (default: ${CACHE_DIR_VARIABLE} if set, else the user's "
                             "cache folder); never inside the catalog's repository")


def _add_catalog_options(parser: argparse.ArgumentParser, strict_help: str) -> None:
    parser.add_argument("--agents", type=Path, default=None, metavar="DIR",
                        help="the catalog: a folder of agent files, or a marketplace's root (default: the "
                             "working folder when it holds .claude-plugin/marketplace.json, else agents/)")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="config file (default: agentpages.yml beside the agents folder, or at the "
                             "marketplace's root)")
    parser.add_argument("--strict", action="store_true", help=strict_help)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show debug messages and tracebacks")


def catalog_folder(given: Path | None) -> Path:
    """Return the catalog `--agents` names; without it, the working folder when it is a
    marketplace's root, else `agents/`."""
    if given is not None:
        return given
    return Path(".") if is_marketplace(Path(".")) else Path("agents")


EXIT_UNWRITTEN = 120
"""Python's own exit code when the output cannot be flushed at exit."""


def run() -> NoReturn:
    """Run the command line as the `agentpages` program, and end the process with its exit code.

    The program collects garbage rarely (see collect.py). A build leaves hundreds of thousands
    of objects behind, and tearing them all down at exit took 40 ms of a 0.6 s edit build: once
    its output is flushed, the program leaves without the teardown (as mypy does), unless a
    tracer or profiler still has to write its data or a worker process still runs. `main` is
    the same command line without either.
    """
    collect_rarely()
    code = main()
    logging.shutdown()
    code = _flush_output(code)
    if sys.gettrace() is not None or sys.getprofile() is not None or _workers_running():
        sys.exit(code)
    os._exit(code)


def _flush_output(code: int) -> int:
    """Flush stdout and stderr; return the exit code, EXIT_UNWRITTEN if the output was lost."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            pass  # the reader stopped reading (`agentpages check | head`): nobody is left to tell
        except ValueError:
            pass  # closed by whoever ran us
        except OSError as exc:
            with contextlib.suppress(OSError, ValueError):
                sys.__stderr__.write(f"error: cannot write the output: {exc.strerror}\n")
                sys.__stderr__.flush()
            code = EXIT_UNWRITTEN
    return code


def _workers_running() -> bool:
    multiprocessing = sys.modules.get("multiprocessing")
    return bool(multiprocessing and multiprocessing.active_children())


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    parser = make_parser()
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:  # said with the command's own usage, not the top level's
            args.parser.error(f"unrecognized arguments: {' '.join(extras)}")
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 for --help/--version
        return int(exc.code or 0)
    _set_up_logging(args.verbose)
    command: Callable[[argparse.Namespace], int] = args.run
    try:
        return command(args)
    except SiteError as exc:
        log.debug("traceback", exc_info=True)
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug of ours: say so plainly, with the traceback under -v
        log.debug("traceback", exc_info=True)
        print(f"error: internal error: {exc!r} (run again with -v for the traceback, and please report it)",
              file=sys.stderr)
        return EXIT_FAILED


def run_build(args: argparse.Namespace) -> int:
    """Build the site and print findings and a summary."""
    started = time.perf_counter()
    site_url = args.site_url if args.site_url is not None else os.environ.get(SITE_URL_VARIABLE)
    config = load_config(catalog_folder(args.agents), args.out, args.config, strict=args.strict, site_url=site_url)
    report = Report()
    progress = ProgressBar(sys.stderr)
    try:
        result = build(config, report, progress.show, use_cache=not args.no_cache, cache_dir=_cache_dir(args))
    finally:
        progress.clear()
        sys.stderr.write(format_text(sorted(report.findings, key=_finding_order)))
    print(build_summary(result, time.perf_counter() - started), file=sys.stderr)
    return EXIT_OK


def _cache_dir(args: argparse.Namespace) -> Path | None:
    """Return the folder the build cache goes in: `--cache-dir`, else $AGENTPAGES_CACHE_DIR, else None."""
    if args.cache_dir is not None:
        return args.cache_dir
    named = os.environ.get(CACHE_DIR_VARIABLE)
    return Path(named) if named else None


def build_summary(result: BuildResult, seconds: float) -> str:
    """Say in one line what a build did, e.g. `Built 1,000 agents into site in 2.10 s (cache: …)`."""
    counted = [(len(result.catalog), "agent"), *((result.components.get(kind, 0), kind)
                                               for kind in ("plugin", "command", "skill"))]
    made = ", ".join(f"{count:,} {kind}{'s' if count != 1 else ''}" for count, kind in counted
                     if count or kind == "agent")
    notes = []
    if result.cache is not None:
        notes.append(f"cache: {result.cache.hits:,} hit, {result.cache.misses:,} miss")
    if result.unchanged:
        notes.append("nothing changed, nothing written")
    notes.append(count_findings(result.report))
    return f"Built {made} into {display_path(result.out_dir)} in {seconds:.2f} s ({'; '.join(notes)})"


class ProgressBar:
    """A one-line progress bar on a terminal, redrawn at most ten times a second; silent elsewhere."""

    WIDTH = 30
    MIN_TOTAL = 200
    """Smaller builds finish before a bar would be worth drawing."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.drawn_at = 0.0
        self.visible = False

    def show(self, done: int, total: int) -> None:
        """Draw `done` of `total` agent pages written."""
        now = time.monotonic()
        if not self.enabled or total < self.MIN_TOTAL or (now - self.drawn_at < 0.1 and done < total):
            return
        filled = self.WIDTH * done // total
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done:,}/{total:,} agents")
        self.stream.flush()
        self.drawn_at, self.visible = now, True

    def clear(self) -> None:
        """Remove the bar, so what follows starts on a clean line."""
        if self.visible:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self.visible = False


def run_check(args: argparse.Namespace) -> int:
    """Check the catalog, print each finding in the chosen format, and exit 1 on failure."""
    try:
        return _check(args)
    except FileError as error:  # a manifest that is not JSON: a finding like any other
        print(FORMATTERS[args.format]([error.as_finding()]), end="")
        print("Checked nothing: 1 error", file=sys.stderr)
        return EXIT_FAILED


def _check(args: argparse.Namespace) -> int:
    from generator.pipeline.components import files_with_pages, read_components

    config = load_config(catalog_folder(args.agents), Path("site"), args.config, strict=args.strict)
    report = Report()
    listing = list_agent_files(config)
    components = read_components(config, listing, report, listing.agent_files(config.agents_dir))
    raw_agents = load_and_check(config, report, listing=listing, other_pages=files_with_pages(components)).raw_agents
    report.findings.sort(key=_finding_order)
    print(FORMATTERS[args.format](report.findings), end="")
    counted = [(len(raw_agents), "agent file"), (len(components.commands), "command"), (len(components.skills), "skill")]
    what = ", ".join(f"{count:,} {name}{'s' if count != 1 else ''}" for count, name in counted if count or name == "agent file")
    print(f"Checked {what}: {count_findings(report)}", file=sys.stderr)
    failed = report.errors or (args.strict and report.warnings)
    return EXIT_FAILED if failed else EXIT_OK


def run_serve(args: argparse.Namespace) -> int:
    """Serve the site until Ctrl-C, printing each rebuild and its findings."""
    from generator.commands.serve import (
        serve,  # watchdog and the server load only for this command
    )

    collect_as_usual()  # rebuild after rebuild, for as long as it runs

    def read_config() -> SiteConfig:
        config = load_config(catalog_folder(args.agents), Path("site"), args.config, strict=args.strict)
        return replace(config, allowed_hosts=(*config.allowed_hosts, *(name.lower() for name in args.allow_host)))

    shown: set[str] = set()

    def report(result: RebuildResult, seconds: float) -> None:
        lines = [str(finding) for finding in result.findings]
        for line in lines:
            if line not in shown:  # each finding once, not again on every save
                print(line, file=sys.stderr)
        shown.clear()
        shown.update(lines)
        if result.error:
            print(result.error, file=sys.stderr)
        pages = "everything" if result.changed_urls == ["*"] else f"{len(result.changed_urls)} file(s)"
        print(f"Rebuilt {pages} in {seconds * 1000:.0f} ms ({count_findings_in(result.findings)})", file=sys.stderr)

    read_config()  # fail at once on a missing agents folder or a bad config
    serve(read_config, args.host, args.port, args.open, report, lambda line: print(line, file=sys.stderr, flush=True),
          _cache_dir(args))
    return EXIT_OK


def run_new(args: argparse.Namespace) -> int:
    """Create a new catalog and say what to do next."""
    from generator.commands.new import (
        create_catalog,
        install_requirement,
        is_from_local_files,
    )

    written = create_catalog(args.folder, args.marketplace)
    print(f"Created a catalog in {display_path(args.folder.resolve())}:")
    for path in written:
        print(f"  {path.relative_to(args.folder).as_posix()}")
    where = "" if args.folder.resolve() == Path.cwd().resolve() else f"cd {shlex.quote(str(args.folder))} && "
    print(f"\nNext: {where}pip install -r requirements.txt && agentpages serve")
    print("Then push it to GitHub and set Settings > Pages > Source to \"GitHub Actions\".")
    if is_from_local_files():
        print(f"Note: this agentpages was installed from a local folder; requirements.txt asks for "
              f"'{install_requirement()}', which CI installs once that version is published. Until then, "
              "point it at agentpages' Git repository: agentpages @ git+https://…", file=sys.stderr)
    return EXIT_OK


def _finding_order(finding: Finding) -> tuple[str, int, int]:
    """Findings by file, line and column, as `check` and `build` both print them."""
    return finding.path_text, finding.line, finding.column


def format_text(findings: list[Finding]) -> str:
    """One `path:line:col: severity: message [rule]` line per finding."""
    return format_findings(findings, with_column=True)


def format_json(findings: list[Finding]) -> str:
    """A JSON array of findings, for tools."""
    records = [
        {
            "path": _without_surrogates(relative_path(f.path_text)),
            "line": f.line,
            "column": f.column,
            "severity": f.severity,
            "rule": f.rule,
            "message": _without_surrogates(f.message),
        }
        for f in findings
    ]
    # ASCII only: a name's bidi controls or undecodable bytes reach no terminal, and JSON stays valid.
    return json.dumps(records, indent=2, ensure_ascii=True) + "\n"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(text: str) -> str:
    """Write the undecodable bytes of a file's name as `\\udcff`: JSON escapes every other
    character itself, but strict JSON readers refuse a lone surrogate."""
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def format_github(findings: list[Finding]) -> str:
    """GitHub Actions workflow commands, so findings show inline on pull requests."""
    return "".join(
        f"::{f.severity} file={_escape_property(display_path(f.path_text))},line={f.line},col={f.column},"
        f"title={_escape_property(f.rule)}::{_escape_data(f.one_line_message)}\n"
        for f in findings
    )


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


FORMATTERS: dict[str, Callable[[list[Finding]], str]] = {
    "text": format_text,
    "json": format_json,
    "github": format_github,
}


def _set_up_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.WARNING)
    log.propagate = False
