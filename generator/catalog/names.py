"""Names a reader cannot tell apart: invisible and direction-changing characters, letters of
another script that look like Latin ones (Unicode TR39's confusables, by the
confusable-homoglyphs library), and compatibility forms such as fullwidth letters."""

from __future__ import annotations

import unicodedata

from confusable_homoglyphs import categories, confusables

_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Controls, formats (zero-width, bidi), surrogates, private use, unassigned, separators."""


def is_invisible(character: str) -> bool:
    """Tell whether a character shows as nothing, or changes how the characters around it show."""
    return unicodedata.category(character) in _INVISIBLE_CATEGORIES and character not in "\t\n"


def lookalike_problem(name: str) -> str:
    """Say why `name` may pass for another ("" when it cannot): what a reader does not see."""
    hidden = sorted({character for character in name if is_invisible(character)})
    if hidden:
        return "holds characters that do not show (" + ", ".join(f"U+{ord(c):04X}" for c in hidden) + ")"
    if unicodedata.normalize("NFKC", name) != name:
        return "holds compatibility forms (fullwidth or styled letters) that look like plain ones"
    letters = [character for character in name if character.isalpha()]
    lookalikes = _latin_lookalikes(name)
    mixed = any(categories.alias(character) == "LATIN" for character in letters)
    if lookalikes and mixed:  # a name wholly in another script is that language's, not a disguise
        shown = ", ".join(f"'{character}' ({categories.alias(character).title()})" for character in lookalikes[:5])
        return f"has letters of another script that look like Latin ones: {shown}"
    return ""


def _latin_lookalikes(name: str) -> list[str]:
    """The letters of `name` that are not Latin and look like a Latin letter, in order, once."""
    found = confusables.is_confusable(name, greedy=True, preferred_aliases=["latin"]) or []
    return list(dict.fromkeys(item["character"] for item in found if categories.alias(item["character"]) != "LATIN"
                              and item["character"].isalpha()))


def visible_name(name: str) -> str:
    """Return `name` with each invisible character written as `[U+XXXX]`, so a page shows it."""
    if not any(is_invisible(character) for character in name):
        return name
    return "".join(f"[U+{ord(character):04X}]" if is_invisible(character) else character for character in name)
