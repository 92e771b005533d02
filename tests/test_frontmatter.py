"""Frontmatter: YAML first, the runtime's line-based reading when YAML refuses the file."""

from __future__ import annotations

from conftest import SEED

from generator.catalog.frontmatter import read_lines_as_runtime_does, split_front_matter


def test_valid_yaml_is_read_with_key_lines() -> None:
    split = split_front_matter("---\nname: a\ntools: [Read, Grep]\nmodel: opus\n---\nBody\n")
    assert split.front_matter.data == {"name": "a", "tools": ["Read", "Grep"], "model": "opus"}
    assert split.front_matter.key_lines == {"name": 2, "tools": 3, "model": 4}
    assert split.front_matter.problem == ""
    assert (split.body, split.body_line) == ("Body\n", 6)


def test_seed_is_not_valid_yaml_but_is_read_like_the_runtime() -> None:
    split = split_front_matter(SEED.read_text(encoding="utf-8"))
    front = split.front_matter
    assert front.problem_kind == "invalid" and (front.problem_line, front.problem_column) == (3, 338)
    assert front.data["name"] == "senior-backend-engineer"
    assert front.data["model"] == "inherit"
    assert front.data["color"] == "purple"
    assert front.data["description"].startswith("Use this agent when you need to design")
    assert front.data["description"].endswith('review the implementation for scalability and best practices."')


def test_literal_block_scalar_keeps_line_breaks() -> None:
    text = "---\nname: a\ndescription: |\n  First line.\n\n  <example>\n  user: hi\n  </example>\n---\n"
    data = split_front_matter(text).front_matter.data
    assert data["description"] == "First line.\n\n<example>\nuser: hi\n</example>\n"


def test_folded_block_scalar_joins_lines() -> None:
    text = "---\nname: a\ndescription: >\n  One\n  two.\n\n  Three.\n---\n"
    assert split_front_matter(text).front_matter.data["description"] == "One two.\nThree.\n"


def test_fallback_keeps_unquoted_multiline_example_description() -> None:
    lines = [
        "name: reviewer",
        "description: Use after writing code. Examples:",
        "<example>",
        "Context: The user wrote a function.",
        'user: "Please review it"',
        "assistant: I'll use the reviewer",
        "</example>",
        "tools: Read, Grep",
        "model: sonnet",
    ]
    data = read_lines_as_runtime_does(lines)
    assert data["name"] == "reviewer"
    assert data["description"].split("\n") == [
        "Use after writing code. Examples:",
        "<example>",
        "Context: The user wrote a function.",
        'user: "Please review it"',
        "assistant: I'll use the reviewer",
        "</example>",
    ]
    assert data["tools"] == "Read, Grep"
    assert data["model"] == "sonnet"


def test_fallback_reads_lists_quoted_values_and_blocks() -> None:
    lines = [
        "name: x",
        "description: Triggers on: 'a', 'b'.",
        "tools:",
        "  - Read",
        "  - Bash",
        'color: "blue"',
    ]
    data = read_lines_as_runtime_does(lines)
    assert data["description"] == "Triggers on: 'a', 'b'."
    assert data["tools"] == ["Read", "Bash"]
    assert data["color"] == "blue"


def test_fallback_lets_only_known_keys_start_a_field() -> None:
    data = read_lines_as_runtime_does(["description: a: b", "User: hi", "notes: x", "model: opus"])
    assert data == {"description": "a: b\nUser: hi\nnotes: x", "model": "opus"}


def test_no_frontmatter_means_all_body() -> None:
    split = split_front_matter("# Just a body\n")
    assert not split.front_matter.present
    assert (split.body, split.body_line) == ("# Just a body\n", 1)


def test_frontmatter_never_closed() -> None:
    split = split_front_matter("---\nname: a\n\n## Body\n")
    assert split.front_matter.present and not split.front_matter.closed
    assert split.front_matter.data == {}


def test_non_mapping_frontmatter_is_a_problem() -> None:
    front = split_front_matter("---\n- a\n- b\n---\n").front_matter
    assert front.data == {} and front.problem == "the frontmatter is not a mapping of keys to values"


def test_python_tags_are_refused_by_the_safe_loader() -> None:
    text = "---\nname: !!python/object/apply:os.system ['echo hacked']\n---\n"
    front = split_front_matter(text).front_matter
    assert front.problem_kind == "refused"  # the safe loader refuses the tag; nothing runs
    assert front.data["name"] == "!!python/object/apply:os.system ['echo hacked']"
