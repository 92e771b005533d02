"""The theme's words: the built-in English (`templates/strings.yml`) and a catalog's translation of
them (the config's `strings`), checked against it key by key."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

from generator.errors import ConfigError, type_name

if TYPE_CHECKING:
    import yaml  # imported where a file is read: a build with nothing changed reads none

PLURAL_FORMS = ("one", "other")
"""The forms of a text that holds a count: for a count of 1, and for any other."""

Text = str | dict[str, str]
"""A text as written: plain, or its plural forms (see PLURAL_FORMS)."""

LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
"""A language tag as `<html lang>` takes it (BCP 47): `en`, `fr`, `pt-BR`, `zh-Hant` (matched whole)."""

_BRACES = re.compile(r"\{\{|\}\}|\{([A-Za-z_]\w*)\}|[{}]")
"""What a text's braces may be: `{{` and `}}` for a brace, `{name}` for a placeholder; any other
brace is a mistake. site.js fills texts by this same rule."""


@functools.cache
def builtin_strings() -> Mapping[str, Text]:
    """Return the built-in English strings, by key (read once)."""
    import yaml

    with _builtin_strings_file().open(encoding="utf-8") as file:
        loaded = yaml.safe_load(file)
    assert isinstance(loaded, dict), "templates/strings.yml is a mapping of keys to texts"
    return MappingProxyType(loaded)


def _builtin_strings_file() -> Path:
    """Find the built-in strings: inside the installed package, or at the top of a checkout."""
    packaged = Path(__file__).resolve().parent / "templates" / "strings.yml"
    return packaged if packaged.is_file() else Path(__file__).resolve().parent.parent / "templates" / "strings.yml"


def placeholders(text: Text) -> frozenset[str]:
    """Return the names of a text's {placeholders} (of every form, for a count's); ValueError on a
    brace that is neither a placeholder nor doubled."""
    names: set[str] = set()
    for form in _forms(text):
        for match in _BRACES.finditer(form):
            if match[0] in "{}":
                raise ValueError(match.start())
            if match[1]:
                names.add(match[1])
    return frozenset(names)


def _forms(text: Text) -> list[str]:
    return list(text.values()) if isinstance(text, dict) else [text]


def check_translation(path: Path, node: yaml.Node, translated: object) -> dict[str, Text]:
    """Return a catalog's strings checked against the built-in ones: known keys, each once, the
    same placeholders, plural forms where the English has them. `node` is the YAML they were
    read from, in `path`, for the line of each problem."""
    import yaml

    if not isinstance(translated, dict) or not isinstance(node, yaml.MappingNode):
        raise ConfigError(path, node.start_mark.line + 1,
                          f"'strings' must map keys to texts, not be a {type_name(translated)}")
    english = builtin_strings()
    checked: dict[str, Text] = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) and key_node.tag.endswith(":str") else None
        if key is None or key not in english:
            raise ConfigError(path, line, _unknown_key(key_node, key, english))
        if key in checked:
            raise ConfigError(path, line, f"string '{key}' is set twice")
        checked[key] = _checked_text(path, value_node, key, translated[key], english[key])
    return checked


def _unknown_key(node: yaml.Node, key: str | None, english: Mapping[str, Text]) -> str:
    if key == "strings":
        return "a strings file holds the keys themselves, not a 'strings:' mapping around them"
    if key is None:
        return f"'{getattr(node, 'value', '?')}' is no string's key: see templates/strings.yml for every key"
    import difflib

    close = difflib.get_close_matches(key, list(english), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown string '{key}'{hint}: see templates/strings.yml for every key"


def _checked_text(path: Path, node: yaml.Node, key: str, text: object, english: Text) -> Text:
    line = node.start_mark.line + 1
    if isinstance(english, dict):
        if not isinstance(text, dict) or set(text) != set(PLURAL_FORMS):
            raise ConfigError(path, line, f"string '{key}' holds a count: give it a text for 'one' and one for 'other'")
        for form_key, form_node in node.value:
            if not isinstance(text[form_key.value], str):
                raise ConfigError(path, form_node.start_mark.line + 1,
                                  f"string '{key}' must be a text for '{form_key.value}'")
    elif not isinstance(text, str):
        shown = "nothing" if text is None else f"a {type_name(text)}"
        raise ConfigError(path, line, f"string '{key}' must be a text, not {shown}")
    try:
        used = placeholders(text)
    except ValueError:
        raise ConfigError(path, line, f"string '{key}' has a brace that is no placeholder: write placeholders as "
                                      "{name}, and '{{' or '}}' for a brace") from None
    if used != placeholders(english):
        wanted = ", ".join(f"{{{name}}}" for name in sorted(placeholders(english))) or "none"
        raise ConfigError(path, line, f"string '{key}' must use the placeholders of its English ({wanted})")
    return text


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
        return Markup(escape(self._text(key))).format(**values)

    def count(self, key: str, count: int, **values: object) -> Markup:
        """Return the form of a text for `count`, its {count} filled."""
        return Markup(escape(self._form(key, count))).format(count=count, **values)

    def plain(self, key: str, **values: object) -> str:
        """Return a text with its placeholders filled, as plain text (for the feed, titles made in code)."""
        return self._text(key).format(**values)

    def plain_count(self, key: str, count: int, shown: str | None = None) -> str:
        """Return the form of a text for `count` as plain text, its {count} shown as `shown` if given."""
        return self._form(key, count).format(count=count if shown is None else shown)

    def number(self, count: int) -> str:
        """Return a whole number with its thousands grouped as the catalog's language writes them."""
        return f"{count:,}".replace(",", self._text("thousands_separator"))

    def _text(self, key: str) -> str:
        text = self._known(key)
        if isinstance(text, dict):
            raise TypeError(f"string '{key}' holds a count: show it with t.count('{key}', n)")
        return text

    def _form(self, key: str, count: int) -> str:
        forms = self._known(key)
        if not isinstance(forms, dict):
            raise TypeError(f"string '{key}' holds no count: show it with t('{key}')")
        return forms["one" if count == 1 else "other"]

    def _known(self, key: str) -> Text:
        try:
            return self.texts[key]
        except KeyError:
            raise ValueError(f"no string '{key}': templates/strings.yml lists every key") from None

    def script(self) -> str:
        """Return `assets/strings.js`: the words the theme's scripts show, and `say`, which fills them."""
        texts = json.dumps({key: self.texts[key] for key in SCRIPT_STRINGS}, ensure_ascii=True, sort_keys=True, indent=1)
        return _SCRIPT.replace("TEXTS_JSON", texts, 1)


SCRIPT_STRINGS = (
    "switch_to_dark", "switch_to_light", "copy", "copy_code", "copied", "copied_to_clipboard", "copy_failed",
    "copying_failed", "search_count_agents", "search_count_components", "search_best_of", "quoted_word",
    "word_list_more", "list_separator", "sentence_break", "showing_results_for", "words_not_required",
    "some_match_every_word", "no_agent_matches_every_word", "no_component_matches_every_word",
)
"""The strings site.js and search.js show (from assets/strings.js)."""

_SCRIPT = """\
// The words site.js and search.js show, in the site's language (templates/strings.yml), and
// say(), which fills a text's {placeholders} as the build does; a text holding a count takes
// its form for values.count.
(() => {
const TEXTS = TEXTS_JSON;
function say(key, values = {}) {
  let text = TEXTS[key] ?? key;
  if (typeof text === "object") text = text[values.count === 1 ? "one" : "other"];
  return text.replace(/\\{\\{|\\}\\}|\\{([A-Za-z_]\\w*)\\}/g, (whole, name) => {
    if (!name) return whole[0];
    return name in values ? String(values[name]) : whole;
  });
}
window.agentpages = Object.freeze({ say });
})();
"""
