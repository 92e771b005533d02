"""`lang` and the theme's words: every interface string comes from templates/strings.yml, and a
catalog that translates them all shows no English, on its pages or from its scripts."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import CORPORA, build_catalog, parse_html, serve_folder, write_agents

from generator.commands.cli import main
from generator.config import load_config
from generator.errors import ConfigError
from generator.strings import builtin_strings, placeholders

AGENT = """\
---
name: zorblax
description: |
  Quux vlim zorp.

  **Example 1 - Vlim:**
  User: Zorp vlim?
  Assistant: Vlim zorp quux.
model: sonnet
color: blue
tools: Read, Grep
---

## Zorp

Vlim quux.

### Quux

Zorp vlim.

```
zorp
```
"""
# Words of ours that are names, not English: what the code placeholders and commands show.
NAMES = {"curl", "site_url", "agentpages", "yml", "claude", "agents", "mkdir", "sonnet", "read", "grep", "md",
         "blue", "zorblax", "quux", "vlim", "zorp", "owner", "repo", "skill", "zip", "unzip", "rm", "fsssl", "fssl"}


def pseudo_translation() -> dict[str, object]:
    """Every built-in string as a marker and its placeholders (a count's in both forms): no English at all."""
    translated: dict[str, object] = {}
    for number, (key, text) in enumerate(builtin_strings().items()):
        holes = " ".join(f"{{{name}}}" for name in sorted(placeholders(text)))
        marker = f"Ω{number} {holes}".strip()
        translated[key] = {"one": marker, "other": marker} if isinstance(text, dict) else marker
    return translated


def english_words() -> set[str]:
    """Every word of three letters or more in the built-in strings, placeholders left out."""
    words: set[str] = set()
    for text in builtin_strings().values():
        for form in text.values() if isinstance(text, dict) else [text]:
            words |= {word.lower() for word in re.findall(r"[A-Za-z]{3,}", re.sub(r"\{\w+\}", " ", form))}
    return words - NAMES


def translated_catalog(tmp_path: Path, site_url: str = "") -> Path:
    agents = write_agents(tmp_path, {"team/zorblax.md": AGENT})
    (tmp_path / "strings.yml").write_text(yaml.safe_dump(pseudo_translation(), allow_unicode=True), encoding="utf-8")
    settings = {"lang": "fr", "strings": "strings.yml", **({"site_url": site_url} if site_url else {})}
    (tmp_path / "agentpages.yml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    return agents


def script_texts(site: Path) -> dict[str, object]:
    """Return the texts assets/strings.js gives the scripts."""
    script = (site / "assets/strings.js").read_text(encoding="utf-8")
    found = re.search(r"const TEXTS = (\{.*?\n\});", script, re.DOTALL)
    assert found, script
    return json.loads(found[1])


def shown_words(page: Path) -> set[str]:
    """Every word a reader sees or hears on a page: its text and the attributes that are read out,
    code and the agent's own words left out."""
    root = parse_html(page)
    for code in root.xpath("//code | //pre | //script"):
        code.getparent().remove(code)
    texts = [*root.xpath("//body//text()"), *root.xpath("//title/text()"),
             *root.xpath("//@aria-label | //@placeholder | //@title | //@alt | //@data-more-label | //@data-less-label"),
             *root.xpath("//meta[@name='description']/@content")]
    return {word.lower() for text in texts for word in re.findall(r"[A-Za-z]{3,}", str(text))}


def test_a_catalog_that_translates_every_string_shows_no_english(tmp_path: Path) -> None:
    agents = translated_catalog(tmp_path)
    build_catalog(agents)
    site = tmp_path / "site"
    english = english_words()
    for page in ("index.html", "agents/zorblax/index.html", "404.html"):
        assert parse_html(site / page).get("lang") == "fr"
        leaked = shown_words(site / page) & english
        assert not leaked, (page, sorted(leaked))
    texts = script_texts(site)
    forms = [form for text in texts.values() for form in (text.values() if isinstance(text, dict) else [text])]
    shown = {word.lower() for form in forms for word in re.findall(r"[A-Za-z]{3,}", re.sub(r"\{\w+\}", " ", form))}
    assert forms and not shown & english


def test_a_translated_marketplace_shows_its_words_on_component_pages(tmp_path: Path) -> None:
    if not (CORPORA.parent / "marketplaces").is_dir():
        pytest.skip("the shared marketplaces are not beside the checkout")
    source = next(path for path in sorted((CORPORA.parent / "marketplaces").iterdir()) if path.is_dir())
    root = tmp_path / "market"
    shutil.copytree(source, root)
    translation = pseudo_translation()
    (root / "agentpages.yml").write_text(yaml.safe_dump({"strings": translation}, allow_unicode=True), encoding="utf-8")
    build_catalog(root)
    site = tmp_path / "site"
    plugin_page = next((site / "plugins").glob("*/index.html"))
    install = parse_html(plugin_page).xpath("//h2[@id='ap-install']")[0]
    assert install.text == translation["install"]
    assert "Install" not in {text.strip() for text in parse_html(plugin_page).xpath("//h2/text()")}
    index = parse_html(site / "index.html")
    legends = index.xpath("//legend/text()")
    assert legends and all(legend.startswith("Ω") for legend in legends)
    feed = (site / "feed.xml").read_text(encoding="utf-8")
    terms = set(re.findall(r'<category term="([^"]*)"', feed))
    assert not terms & {"Commands", "Skills"}, terms
    groups = {text.strip() for text in parse_html(plugin_page).xpath("//section[@class='components']/h2/text()")}
    assert groups and all(group.startswith("Ω") for group in groups), groups


def test_scripts_speak_the_catalogs_words_in_chromium(browser, tmp_path: Path) -> None:
    agents = translated_catalog(tmp_path)
    build_catalog(agents)
    translation = pseudo_translation()
    with serve_folder(tmp_path / "site") as base:
        page = browser.new_page()
        page.goto(base + "index.html")
        page.fill("[data-search-input]", "vlim")
        page.press("[data-search-input]", "Enter")
        page.wait_for_function("() => document.querySelector('[data-result-count]').textContent !== ''")
        assert page.text_content("[data-result-count]").startswith(translation["search_count_agents"]["one"][:3])
        assert page.get_attribute("[data-theme-toggle]", "aria-label") in (translation["switch_to_dark"],
                                                                           translation["switch_to_light"])
        page.goto(base + "agents/zorblax/index.html")
        page.wait_for_selector(".copy-button", state="attached")
        assert page.get_attribute(".copy-button", "aria-label") == translation["copy_code"]
        page.close()


def test_untranslated_strings_stay_english_and_a_translation_keeps_its_placeholders(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"zorblax.md": AGENT})
    (tmp_path / "agentpages.yml").write_text(yaml.safe_dump({"strings": {
        "examples": "Exemples", "last_updated": "Mis à jour le {date}", "agents_count": {"one": "{count} agent",
                                                                                      "other": "{count} agents"}}},
        allow_unicode=True), encoding="utf-8")
    build_catalog(agents)
    page = parse_html(tmp_path / "site/agents/zorblax/index.html")
    assert page.xpath("//h2[@id='ap-examples']/text()") == ["Exemples"]
    updated = page.xpath("//span[@class='updated']")[0]
    assert "".join(updated.itertext()).startswith("Mis à jour le ") and updated.xpath("time/@datetime")
    assert page.xpath("//nav[@class='contents']/@aria-label") == ["Contents"]  # not translated: English
    assert parse_html(tmp_path / "site/index.html").get("lang") == "en"


def test_a_translation_is_text_never_markup(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"zorblax.md": AGENT})
    (tmp_path / "agentpages.yml").write_text(yaml.safe_dump({"strings": {
        "examples": "<img src=x onerror=alert(1)>", "last_updated": "<b>{date}</b>"}}), encoding="utf-8")
    build_catalog(agents)
    page = parse_html(tmp_path / "site/agents/zorblax/index.html")
    assert not page.xpath("//img") and not page.xpath("//span[@class='updated']/b")
    assert page.xpath("//h2[@id='ap-examples']/text()") == ["<img src=x onerror=alert(1)>"]


@pytest.mark.parametrize(("settings", "line", "message"), [
    ("lang: fr_FR!\n", 1, "'lang' must be a language tag"),
    ("title: x\nstrings:\n  exampels: Exemples\n", 3, "unknown string 'exampels' (did you mean 'examples'?)"),
    ("strings:\n  last_updated: Mis à jour\n", 2, "must use the placeholders of its English ({date})"),
    ("strings:\n  agents_count: agents\n", 2, "holds a count: give it a text for 'one' and one for 'other'"),
    ("strings:\n  examples: [a]\n", 2, "must be a text, not a list"),
    ("strings:\n  last_updated: 'le {date'\n", 2, "a brace that is no placeholder"),
    ("strings:\n  last_updated: 'le {date:>999999999}'\n", 2, "a brace that is no placeholder"),
    ("strings:\n  last_updated: 'le {date.__class__}'\n", 2, "a brace that is no placeholder"),
    ("strings:\n  last_updated: 'le {date!r}'\n", 2, "a brace that is no placeholder"),
    ("strings:\n  last_updated: 'le {date} {}'\n", 2, "a brace that is no placeholder"),
    ("strings:\n  copy: 'le {count:}'\n", 2, "a brace that is no placeholder"),
    ("strings:\n  examples: A\n  examples: B\n", 3, "string 'examples' is set twice"),
    ("lang: \"en\\n\"\n", 1, "'lang' must be a language tag"),
    ("strings:\n  ~: x\n", 2, "is no string's key"),
    ("strings:\n  agents_count:\n    one: a\n    other: [b]\n", 4, "must be a text for 'other'"),
    ("strings:\n  examples:\n", 2, "must be a text, not nothing"),
    ("strings: missing.yml\n", 1, "'strings' names 'missing.yml', which is no file"),
    ("strings: 3\n", 1, "'strings' must map keys to texts"),
])
def test_bad_strings_are_refused_with_the_line(tmp_path: Path, settings: str, line: int, message: str) -> None:
    agents = write_agents(tmp_path, {"zorblax.md": AGENT})
    (tmp_path / "agentpages.yml").write_text(settings, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(agents, tmp_path / "site")
    assert raised.value.line == line and message in str(raised.value)


def test_a_bad_strings_file_names_its_own_line(tmp_path: Path, capsys) -> None:
    agents = write_agents(tmp_path, {"zorblax.md": AGENT})
    (tmp_path / "agentpages.yml").write_text("strings: fr.yml\n", encoding="utf-8")
    (tmp_path / "fr.yml").write_text("examples: Exemples\ncontents: Sommaire {x}\n", encoding="utf-8")
    assert main(["build", "--agents", str(agents)]) != 0
    assert "fr.yml:2: " in capsys.readouterr().err
    assert not (tmp_path / "site").exists()


def test_every_string_the_templates_and_scripts_ask_for_exists() -> None:
    """A key a template or script names but strings.yml lacks would fail only on the page that shows it."""
    templates = Path(__file__).resolve().parent.parent / "templates"
    known = set(builtin_strings())
    asked = set()
    for path in templates.rglob("*.html"):
        asked |= set(re.findall(r"""\bt(?:\.count)?\(\s*["'](\w+)["']""", path.read_text(encoding="utf-8")))
    for path in (templates / "assets").glob("*.js"):
        asked |= set(re.findall(r"""\bsay\(\s*["'](\w+)["']""", path.read_text(encoding="utf-8")))
    named = {key for key in asked if not key.endswith("_")}  # "kind_" ~ kind names its keys by parts
    assert named and named <= known, sorted(named - known)


def test_a_strings_file_wrapped_in_strings_says_so(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"zorblax.md": AGENT})
    (tmp_path / "agentpages.yml").write_text("strings: fr.yml\n", encoding="utf-8")
    (tmp_path / "fr.yml").write_text("strings:\n  examples: Exemples\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(agents, tmp_path / "site")
    assert raised.value.path == (tmp_path / "fr.yml").resolve() and raised.value.line == 1
    assert "holds the keys themselves" in str(raised.value)


def test_the_default_title_and_numbers_follow_the_translation(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"zorblax.md": AGENT})
    (tmp_path / "agentpages.yml").write_text("strings:\n  default_title: Catalogue d'agents\n", encoding="utf-8")
    build_catalog(agents)
    index = parse_html(tmp_path / "site/index.html")
    assert index.xpath("//h1/text()") == ["Catalogue d'agents"]
    from generator.strings import Strings

    assert Strings.of({"thousands_separator": "\u202f"}).number(1234567) == "1\u202f234\u202f567"


def test_every_word_the_scripts_say_is_in_strings_js() -> None:
    from generator.strings import SCRIPT_STRINGS

    assets = Path(__file__).resolve().parent.parent / "templates" / "assets"
    said = set()
    for path in assets.glob("*.js"):
        for key_expression in re.findall(r"\bsay\(([^,)]*)", path.read_text(encoding="utf-8")):
            said |= set(re.findall(r"""(?<!=== )["'](\w+)["']""", key_expression))  # say("key") or say(a ? "key" : "other")
    assert said and said <= set(SCRIPT_STRINGS), sorted(said - set(SCRIPT_STRINGS))


def test_search_keeps_its_words_beside_a_theme_of_its_own(browser, tmp_path: Path, caplog, monkeypatch) -> None:
    """A theme's own site.js (written before strings.js) leaves search working; a theme's own
    base.html without strings.js gets a warning at build time."""
    agents = translated_catalog(tmp_path)
    theme = tmp_path / "templates"
    (theme / "assets").mkdir(parents=True)
    (theme / "assets/site.js").write_text("document.documentElement.dataset.own = '';\n", encoding="utf-8")
    build_catalog(agents)
    with serve_folder(tmp_path / "site") as base:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(base + "index.html")
        page.fill("[data-search-input]", "vlim")
        page.press("[data-search-input]", "Enter")
        page.wait_for_function("() => document.querySelector('[data-result-count]').textContent !== ''")
        assert page.text_content("[data-result-count]").startswith("Ω") and not errors
        page.close()
    builtin = Path(__file__).resolve().parent.parent / "templates" / "base.html"
    (theme / "base.html").write_text(builtin.read_text(encoding="utf-8").replace(
        '<script defer src="{{ root }}assets/strings.js"></script>\n', ""), encoding="utf-8")
    monkeypatch.setattr(logging.getLogger("generator"), "propagate", True)  # the command line may have set it off
    with caplog.at_level("WARNING"):
        build_catalog(agents)
    assert any("assets/strings.js" in record.getMessage() for record in caplog.records)
