"""Descriptions: a summary and example cards, from every format found in real catalogs."""

from __future__ import annotations

from conftest import SEED

from generator.catalog.examples import parse_description
from generator.catalog.frontmatter import split_front_matter
from generator.catalog.model import Turn


def seed_description() -> str:
    return split_front_matter(SEED.read_text(encoding="utf-8")).front_matter.data["description"]


def test_seed_yields_five_titled_examples_each_with_user_and_assistant() -> None:
    parsed = parse_description(seed_description())
    assert [e.title for e in parsed.examples] == [
        "API Design",
        "Microservices Architecture",
        "Performance Optimization",
        "Database Design",
        "Proactive Use After Implementation",
    ]
    for example in parsed.examples:
        assert [t.role for t in example.turns] == ["user", "assistant"]
    assert parsed.examples[0].turns[0].text == (
        "I need to create an API for managing user subscriptions with different tiers"
    )


def test_seed_stage_direction_is_set_apart() -> None:
    last = parse_description(seed_description()).examples[-1]
    assert last.turns[1] == Turn(
        "assistant",
        "Now let me use the senior-backend-engineer agent to review the implementation "
        "for scalability and best practices.",
        "After creating the module",
    )


def test_seed_summary_drops_examples_and_their_lead_in() -> None:
    summary = parse_description(seed_description()).summary
    assert summary.startswith("Use this agent when you need to design")
    assert summary.endswith("secure backend solutions.")
    assert "\\n" not in summary and "Example" not in summary


def test_multiline_example_blocks_with_context_and_commentary() -> None:
    text = """Use this agent after code changes.

<example>
Context: The user has just written a new function.
user: "Please write a function that checks primes"
assistant: "Here it is."
assistant: "Now let me use the code-reviewer agent."
<commentary>
A significant piece of code was written,
so the reviewer runs.
</commentary>
</example>

<example>
Context: Second.
user: "Again"
assistant: "Sure"
</example>"""
    parsed = parse_description(text)
    assert parsed.summary == "Use this agent after code changes."
    first, second = parsed.examples
    assert first.context == "The user has just written a new function."
    assert [t.role for t in first.turns] == ["user", "assistant", "assistant"]
    assert first.turns[0].text == "Please write a function that checks primes"
    assert first.commentary == "A significant piece of code was written,\nso the reviewer runs."
    assert second.context == "Second." and second.commentary == ""


def test_one_line_examples_in_any_case() -> None:
    text = (
        "Use it for Go. <EXAMPLE>Context: a PR adds goroutines User: 'Check this' "
        "ASSISTANT: 'I will use the reviewer' <Commentary>Concurrency changed.</Commentary></EXAMPLE>"
        "<example>user: \"Second\" assistant: \"Done\"</example>"
    )
    parsed = parse_description(text)
    assert parsed.summary == "Use it for Go."
    first, second = parsed.examples
    assert first.context == "a PR adds goroutines"
    assert first.turns == (Turn("user", "Check this"), Turn("assistant", "I will use the reviewer"))
    assert first.commentary == "Concurrency changed."
    assert second.turns == (Turn("user", "Second"), Turn("assistant", "Done"))


def test_literal_newline_escapes_become_line_breaks() -> None:
    text = "Reviews APIs.\\n\\n<example>\\nuser: \"Look\"\\nassistant: \"Looking\"\\n</example>"
    parsed = parse_description(text)
    assert parsed.summary == "Reviews APIs."
    assert parsed.examples[0].turns == (Turn("user", "Look"), Turn("assistant", "Looking"))


def test_no_examples() -> None:
    parsed = parse_description("Expert in Go. Use PROACTIVELY for reviews.")
    assert parsed.summary == "Expert in Go. Use PROACTIVELY for reviews."
    assert parsed.examples == ()


def test_unclosed_and_stray_tags_never_leak() -> None:
    text = "Lead.</commentary> <example>user: \"a\" assistant: \"b\" <commentary>why"
    parsed = parse_description(text)
    assert "<" not in parsed.summary and parsed.summary == "Lead."
    assert parsed.examples[0].commentary == "why"
    for turn in parsed.examples[0].turns:
        assert "<" not in turn.text


def test_headed_examples_without_numbers_or_bold() -> None:
    text = "Helps.\n\nExample - Quick check:\nUser: \"hi\"\nAssistant: \"hello\"\n\n**Example:**\nUser: \"x\"\nAssistant: \"y\""
    parsed = parse_description(text)
    assert [e.title for e in parsed.examples] == ["Quick check", ""]
    assert parsed.summary == "Helps."


def test_prose_about_examples_is_not_an_example() -> None:
    for text in ("Reviews code.\nExamples:", "Reviews code.\nExample usage: run it after every commit.",
                 "Explains how `<example>` blocks are parsed."):
        parsed = parse_description(text)
        assert parsed.examples == (), text
    assert parse_description("Explains how `<example>` blocks are parsed.").summary == (
        "Explains how `<example>` blocks are parsed."
    )


def test_examples_lead_in_on_its_own_line() -> None:
    parsed = parse_description("Reviews code.\n\nExamples:\n\n<example>\nuser: hi\nassistant: ok\n</example>")
    assert parsed.summary == "Reviews code."
    assert len(parsed.examples) == 1 and parsed.examples[0].title == ""


def test_stage_direction_inside_the_quotes() -> None:
    turn = parse_description('X.\n\n**Example 1 - A:**\nUser: "a"\nAssistant: "[After the diff] Now review."').examples[0].turns[1]
    assert (turn.direction, turn.text) == ("After the diff", "Now review.")


def test_header_forms() -> None:
    text = "X.\n\nExample 2: Quick\nUser: a\n\n__Example__:\nUser: b\n\n**Example 3 — Dash**\nUser: c"
    assert [e.title for e in parse_description(text).examples] == ["Quick", "", "Dash"]


def test_an_example_block_inside_code_stays_code_whatever_fence_lines_the_code_shows() -> None:
    from generator.catalog.examples import take_body_examples

    body = "```\n```python\n<example>\nuser: hi\nassistant: yo\n</example>\n```\n"
    assert take_body_examples(body) == (body, ()), "a fence line with an info string closes nothing"
    text, examples = take_body_examples("Intro.\n\n<example>\nuser: hi\nassistant: yo\n</example>\n")
    assert len(examples) == 1 and "<example>" not in text
