"""Command line: parse arguments, set up logging, run a command, map errors to exit codes."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from generator import __version__
from generator.build import build
from generator.config import load_config
from generator.errors import Report, SiteError, display_path

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
    _add_catalog_options(build_parser)
    build_parser.add_argument("--out", type=Path, default=Path("site"), metavar="DIR",
                              help="where to write the site (default: site/)")
    return parser


def _add_catalog_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agents", type=Path, default=Path("agents"), metavar="DIR",
                        help="the folder of agent files (default: agents/)")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="config file (default: agentpages.yml beside the agents folder)")
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show debug messages and tracebacks")


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 for --help/--version
        return int(exc.code or 0)
    _set_up_logging(args.verbose)
    try:
        return run_build(args)
    except SiteError as exc:
        log.debug("traceback", exc_info=True)
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


def run_build(args: argparse.Namespace) -> int:
    """Build the site and print findings and a summary."""
    started = time.perf_counter()
    config = load_config(args.agents, args.out, args.config, strict=args.strict)
    report = Report()
    try:
        result = build(config, report)
    finally:
        _print_findings(report)
    seconds = time.perf_counter() - started
    count = len(result.catalog.agents)
    print(
        f"Built {count:,} agent{'s' if count != 1 else ''} into {display_path(result.out_dir)} "
        f"in {seconds:.2f} s ({_count_words(report)})",
        file=sys.stderr,
    )
    return EXIT_OK


def _print_findings(report: Report) -> None:
    for finding in report.findings:
        print(finding, file=sys.stderr)


def _count_words(report: Report) -> str:
    warnings = len(report.warnings)
    return f"{warnings} warning{'s' if warnings != 1 else ''}"


def _set_up_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.WARNING)
    log.propagate = False
