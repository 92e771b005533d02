"""Names a reader cannot tell apart: invisible and direction-changing characters, letters of
another script that look like Latin ones (Unicode TR39's confusables, by the
confusable-homoglyphs library), and compatibility forms such as fullwidth letters."""

from __future__ import annotations

import unicodedata

_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Controls, formats (zero-width, bidi), surrogates, private use, unassigned, separators."""
_BLANKS = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f\u2800\u3164\uffa0"
    + "".join(chr(code) for code in range(0xFE00, 0xFE10))
)
"""Default-ignorable or blank characters of other categories: a combining grapheme joiner,
Hangul fillers, variation selectors, the braille blank."""


def is_invisible(character: str) -> bool:
    """Tell whether a character shows as nothing, or changes how the characters around it show."""
    if character in "\t\n":
        return False
    category = unicodedata.category(character)
    return (category in _INVISIBLE_CATEGORIES or character in _BLANKS or 0xE0000 <= ord(character) <= 0xE0FFF
            or (category == "Zs" and character != " "))


def lookalike_problem(name: str) -> str:
    """Say why `name` may pass for another ("" when it cannot): what a reader does not see."""
    hidden = sorted({character for character in name if is_invisible(character)})
    if hidden:
        return "holds characters that do not show (" + ", ".join(f"U+{ord(c):04X}" for c in hidden) + ")"
    if unicodedata.normalize("NFKC", name) != name:
        return "holds compatibility forms (fullwidth or styled letters) that look like plain ones"
    lookalikes = _ascii_lookalikes(name) if not name.isascii() else []
    if lookalikes and any(character.isascii() and character.isalnum() for character in name):
        from confusable_homoglyphs import categories

        shown = ", ".join(f"'{character}' (U+{ord(character):04X}, {categories.alias(character).title()})"
                          for character in lookalikes[:5])
        return f"has characters that look like plain ones: {shown}"
    return ""


def _ascii_lookalikes(name: str) -> list[str]:
    """The characters of `name` beyond ASCII that look like an ASCII one (TR39's confusables), in
    order, once; a name that mixes them with ASCII letters passes for another ("code‐reviewer").
    The table is loaded only for such a name: an edit build would pay 25 ms for nothing."""
    from confusable_homoglyphs import confusables

    found = confusables.is_confusable(name, greedy=True, preferred_aliases=[]) or []
    return list(dict.fromkeys(
        item["character"] for item in found
        if not item["character"].isascii() and any(glyph["c"].isascii() for glyph in item["homoglyphs"])))


def visible_name(name: str) -> str:
    """Return `name` with each invisible character written as `[U+XXXX]`, so a page shows it."""
    if (name.isascii() and name.isprintable()) or not any(is_invisible(character) for character in name):
        return name
    return "".join(f"[U+{ord(character):04X}]" if is_invisible(character) else character for character in name)
