"""Property-based tests: any bytes, random or mutated from real files, give an Agent or a finding.

The parser, the rules and the renderer never raise on agent text, and each file is handled
within Hypothesis' deadline (generous, so only a runaway such as exponential backtracking or
an alias bomb trips it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from conftest import SEED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.catalog.interpret import make_agent
from generator.catalog.lint import check_agent
from generator.catalog.load import read_agent
from generator.catalog.model import Agent
from generator.catalog.tools import LintSettings
from generator.errors import Report
from generator.markdown.markup import MarkdownRenderer

RENDERER = MarkdownRenderer()
WORKDIR = Path(tempfile.mkdtemp(prefix="agentpages-fuzz-"))
FUZZ_SETTINGS = settings(
    max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

# Pieces real agent files are made of, so random files reach deep into the parser.
FRAGMENTS = [
    "---\n", "name: ", "description: ", "model: ", "color: ", "tools: ", "category: ", "\n", "\\n",
    "<example>", "</example>", "<commentary>", "</commentary>", "Context: ", "user: ", "assistant: ",
    "User: ", "Assistant: ", "**Example 1 - Title:**", "[stage]", '"', "'", "|", ">", "- ", "* ",
    "1. ", "  ", "    ", "```", "````", "~~~", "## ", "### ", "# ", "| a | b |\n|---|---|\n",
    "&a ", "*a ", "[", "]", "{", "}", "{{ x }}", "{% if %}", "<script>", "<img onerror=x>",
    "javascript:", "!!python/object ", "#fff", "red", "Read, Write", "[Read]", "[]", ": ",
    "\t", "\r\n", "\ufeff", "é", "日本", "\x00", "-->", "<!--",
]  # fmt: skip
fragment_texts = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=12), max_size=60).map("".join)


def process(data: bytes) -> Agent | None:
    """Run one file through load, lint and interpretation, as a build does."""
    path = WORKDIR / "agent.md"
    path.write_bytes(data)
    report = Report()
    raw = read_agent(path, WORKDIR, report)
    if raw is None:
        assert report.findings, "a skipped file always says why"
        return None
    for finding in check_agent(raw, LintSettings()):
        assert finding.line >= 1 and finding.column >= 1 and finding.rule
    return make_agent(raw, {raw.rel_path: "agent"}, RENDERER)


@FUZZ_SETTINGS
@given(st.binary(max_size=2000))
def test_random_bytes(data: bytes) -> None:
    assert process(data) is None or isinstance(process(data), Agent)


@FUZZ_SETTINGS
@given(fragment_texts)
def test_files_made_of_agent_file_pieces(text: str) -> None:
    assert isinstance(process(text.encode("utf-8", "surrogatepass")), (Agent, type(None)))


@FUZZ_SETTINGS
@given(st.data())
def test_mutated_seed(data: st.DataObject) -> None:
    text = SEED.read_text(encoding="utf-8")
    for _ in range(data.draw(st.integers(1, 6))):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, min(len(text), start + 200)))
        replacement = data.draw(fragment_texts)
        text = text[:start] + replacement + text[end:]
    assert isinstance(process(text.encode("utf-8", "surrogatepass")), (Agent, type(None)))


@FUZZ_SETTINGS
@given(st.integers(1, 400), st.sampled_from(["> ", "- ", "  - ", "1. ", "[", "*", "<div>", "`"]))
def test_deep_repetition(count: int, piece: str) -> None:
    body = piece * count + "x\n" + "".join("  " * i + "- item\n" for i in range(count))
    assert isinstance(process(f"---\nname: a\ndescription: b\n---\n{body}".encode()), Agent)


ADVERSARIAL = {
    "unclosed links": "[a](b " * 40_000,
    "nested brackets": "[" * 100_000 + "]" * 100_000,
    "bracket blocks": ("[" * 40 + "]" * 40 + "\n\n") * 2_500,
    "unclosed tags": "<a " * 70_000,
    "quoted tag attributes": "<a x='>" * 30_000,
    "entities": "&amp; " * 35_000,
    "emphasis": "**a** " * 35_000,
    "nested parentheses": ("[a](" + "(" * 30 + ")") * 6_000,
}


@pytest.mark.parametrize("body", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_adversarial_bodies_render(body: str) -> None:
    # Each of these took from 30 s to hours before the scans were bounded (see gfm.py);
    # a regression shows as this test running for minutes.
    result = RENDERER.render(body)
    assert result.html
