"""Time `check` and `build` on the slowest agent files we can construct, at two sizes.

    python bench/hostile_inputs.py [--size 250000] [--timeout 300]

Each case is one agent file whose frontmatter or body repeats a pattern that a careless scan
reads once per occurrence (quadratic time): unknown tools, link brackets, `<example` tags
without `>`, a single line of `[`, mention bait, backticks, emphasis marks, HTML comments,
table pipes. Each is timed at `--size` characters and at four times that, in a catalog of
its own, with `--no-cache`; a linear scan takes about 4× as long at 4× the size, a quadratic
one 16×. No timing here is a test: the suite only checks what these inputs give.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

Case = Callable[[int], str]


def front(name: str, extra: str = "", description: str = "Does things.") -> str:
    return f"---\nname: {name}\ndescription: {description}\n{extra}---\n\n"


def _repeat(unit: str, size: int) -> str:
    return unit * max(1, size // len(unit))


CASES: dict[str, Case] = {
    "unknown tools": lambda size: front("tools", "tools: " + ", ".join(
        f"Tool{number}x" for number in range(size // 9)) + "\n") + "## Role\n",
    "link brackets": lambda size: front("links") + _repeat("[a](", size) + "\n",
    "one line of [": lambda size: front("brackets") + "[" * size + "\n",
    "<example without >": lambda size: front("examples", description='"' + _repeat("<example", size) + '"'),
    "mention bait": lambda size: front("mentions") + _repeat("the a-b-c-d agent subagent_type: x `/y z` ", size),
    "backtick runs": lambda size: front("backticks") + _repeat("``a`", size) + "\n",
    "emphasis marks": lambda size: front("emphasis") + _repeat("*a _b ", size) + "\n",
    "unclosed comments": lambda size: front("comments") + _repeat("<!-- [x](y.md)\n", size),
    "ampersands": lambda size: front("amps") + _repeat("a&", size) + "\n",
    "wide table": lambda size: front("wide") + "|a" * (size // 4) + "|\n" + "|-" * (size // 4) + "|\n",
    "table pipes": lambda size: front("tables") + "| a | b |\n|---|---|\n" + _repeat("| x " * 50 + "|\n", size),
}


def run(command: list[str], folder: Path, timeout: float) -> float | None:
    """Run agentpages in `folder`; return the wall seconds, or None past `timeout`."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    try:
        subprocess.run([sys.executable, "-m", "generator", *command], cwd=folder, env=env, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=250_000)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    print(f"{'case':<20} {'size':>9} {'check s':>8} {'build s':>8}   {'×4 size':>9} {'check s':>8} {'build s':>8}")
    for name, case in CASES.items():
        small = _timed(case, args.size, args.timeout)
        large = _timed(case, 4 * args.size, args.timeout)
        print(f"{name:<20} {args.size:>9,} {small[0]:>8} {small[1]:>8}   {4 * args.size:>9,} {large[0]:>8} {large[1]:>8}",
              flush=True)


def _timed(case: Case, size: int, timeout: float) -> tuple[str, str]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "agents").mkdir()
        text = case(size)
        (root / "agents" / "hostile.md").write_text(text, encoding="utf-8")
        (root / "agentpages.yml").write_text(f"max_file_size: {len(text.encode()) + 1024}\n", encoding="utf-8")
        seconds = (run(["check"], root, timeout), run(["build", "--no-cache"], root, timeout))
    return tuple(f"{value:.2f}" if value is not None else "timeout" for value in seconds)  # type: ignore[return-value]


if __name__ == "__main__":
    main()
