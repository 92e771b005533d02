"""The theme's words: the built-in English (`templates/strings.yml`) and a catalog's translation of
them (the config's `strings`), checked against it key by key."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from markupsafe import Markup, escape

from generator.errors import ConfigError, type_name

PLURAL_FORMS = ("one", "other")
"""The forms of a text that holds a count: for a count of 1, and for any other."""

Text = str | dict[str, str]
"""A text as written: plain, or its plural forms (see PLURAL_FORMS)."""

LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
"""A language tag as `<html lang>` takes it (BCP 47): `en`, `fr`, `pt-BR`, `zh-Hant`."""


def builtin_strings_file() -> Path:
    """Find the built-in strings: inside the installed package, or at the top of a checkout."""
    packaged = Path(__file__).resolve().parent / "templates" / "strings.yml"
    return packaged if packaged.is_file() else Path(__file__).resolve().parent.parent / "templates" / "strings.yml"


def builtin_strings() -> dict[str, Text]:
    """Return the built-in English strings, by key."""
    with builtin_strings_file().open(encoding="utf-8") as file:
        loaded = yaml.safe_load(file)
    assert isinstance(loaded, dict), "templates/strings.yml is a mapping of keys to texts"
    return loaded


def placeholders(text: Text) -> frozenset[str]:
    """Return the names of a text's {placeholders} (of every form, for a count's)."""
    forms = text.values() if isinstance(text, dict) else [text]
    return frozenset(name for form in forms for _, name, _, _ in string.Formatter().parse(form) if name)


def check_translation(path: Path, line_of: Mapping[str, int], translated: object) -> dict[str, Text]:
    """Return a catalog's strings checked against the built-in ones: known keys, the same
    placeholders, plural forms where the English has them. `line_of` gives each key's line in
    `path`, the file they were written in."""
    if not isinstance(translated, dict):
        raise ConfigError(path, line_of.get("", 1), f"'strings' must map keys to texts, not be a {type_name(translated)}")
    english = builtin_strings()
    checked: dict[str, Text] = {}
    for key, text in translated.items():
        line = line_of.get(str(key), 1)
        if key not in english:
            raise ConfigError(path, line, f"unknown string '{key}'{_closest(str(key), english)}: see templates/strings.yml "
                                          "for every key")
        checked[key] = _checked_text(path, line, key, text, english[key])
    return checked


def _checked_text(path: Path, line: int, key: str, text: object, english: Text) -> Text:
    if isinstance(english, dict):
        if not isinstance(text, dict) or set(text) != set(PLURAL_FORMS) or not all(isinstance(v, str) for v in text.values()):
            raise ConfigError(path, line, f"string '{key}' holds a count: give it a text for 'one' and one for 'other'")
    elif not isinstance(text, str):
        raise ConfigError(path, line, f"string '{key}' must be a text, not a {type_name(text)}")
    try:
        fields = [field for form in (text.values() if isinstance(text, dict) else [text])
                  for field in string.Formatter().parse(form) if field[1] is not None]
    except ValueError:
        raise ConfigError(path, line, f"string '{key}' has a stray '{{' or '}}' (write '{{{{' or '}}}}' for one)") from None
    if any(spec or conversion or not name for _, name, spec, conversion in fields):
        raise ConfigError(path, line, f"string '{key}' may name its placeholders only, as {{name}}: no format or conversion")
    used = frozenset(name for _, name, _, _ in fields if name)
    if used != placeholders(english):
        wanted = ", ".join(f"{{{name}}}" for name in sorted(placeholders(english))) or "none"
        raise ConfigError(path, line, f"string '{key}' must use the placeholders of its English ({wanted})")
    return text


def _closest(key: str, english: Mapping[str, Text]) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(english), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass(frozen=True)
class Strings:
    """The theme's words in the catalog's language: its translation, English for the rest."""

    texts: Mapping[str, Text]

    @classmethod
    def of(cls, translated: Mapping[str, Text]) -> Strings:
        return cls({**builtin_strings(), **translated})

    def __call__(self, key: str, **values: object) -> Markup:
        """Return a text with its placeholders filled, escaped for HTML (a value that is Markup
        is kept as it is)."""
        text = self.texts[key]
        if isinstance(text, dict):
            raise KeyError(f"string '{key}' holds a count: use count()")
        return Markup(escape(text)).format(**values)

    def count(self, key: str, count: int, **values: object) -> Markup:
        """Return the form of a text for `count`, its {count} filled."""
        forms = self.texts[key]
        assert isinstance(forms, dict), f"string '{key}' holds no count"
        return Markup(escape(forms["one" if count == 1 else "other"])).format(count=count, **values)

    def plain_count(self, key: str, count: int, shown: str | None = None) -> str:
        """Return the form of a text for `count` as plain text, its {count} shown as `shown` if given."""
        forms = self.texts[key]
        assert isinstance(forms, dict), f"string '{key}' holds no count"
        return forms["one" if count == 1 else "other"].format(count=count if shown is None else shown)

    def plain(self, key: str, **values: object) -> str:
        """Return a text with its placeholders filled, as plain text (for the feed, titles made in code)."""
        text = self.texts[key]
        assert isinstance(text, str), f"string '{key}' holds a count"
        return text.format(**values)

    def for_scripts(self) -> dict[str, Text]:
        """Return the texts the theme's scripts show, by key."""
        return {key: self.texts[key] for key in SCRIPT_STRINGS}


SCRIPT_STRINGS = (
    "switch_to_dark", "switch_to_light", "copy", "copy_code", "copied", "copied_to_clipboard", "copy_failed",
    "copying_failed", "search_count_agents", "search_count_components", "search_best_of", "quoted_word",
    "word_list_more", "showing_results_for", "words_not_required", "some_match_every_word",
    "no_agent_matches_every_word", "no_component_matches_every_word",
)
"""The strings site.js and search.js show (from assets/strings.js)."""
