"""The optional agentpages.yml: known keys, right types, and errors naming key and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator.config import load_config
from generator.errors import ConfigError


def config_in(tmp_path: Path, text: str):
    (tmp_path / "agents").mkdir()
    (tmp_path / "agentpages.yml").write_text(text, encoding="utf-8")
    return load_config(tmp_path / "agents", tmp_path / "site")


def test_defaults_without_a_file(tmp_path: Path) -> None:
    (tmp_path / "agents").mkdir()
    config = load_config(tmp_path / "agents", tmp_path / "site")
    assert config.title == "Agent catalog" and config.config_path is None and config.theme_dir is None


def test_settings_are_read(tmp_path: Path) -> None:
    config = config_in(
        tmp_path,
        "title: My agents\nrepo_url: https://github.com/me/agents\nedit_uri: blob/dev/agents/\n",
    )
    assert config.title == "My agents"
    assert config.edit_base == "https://github.com/me/agents/blob/dev/agents/"


def test_edit_base_defaults_to_the_main_branch(tmp_path: Path) -> None:
    config = config_in(tmp_path, "repo_url: https://github.com/me/agents/\n")
    assert config.edit_base == "https://github.com/me/agents/edit/main/agents/"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title: x\ncolour: red\n", r"agentpages.yml:2: error: unknown key 'colour' \(known keys: "),
        ("title: x\n\ndescription: [1, 2]\n", r"agentpages.yml:3: error: 'description' must be a text, not a list"),
        ("repo_url: javascript:alert(1)\n", r"agentpages.yml:1: error: 'repo_url' must start with https://"),
        ("title: [unclosed\n", r"agentpages.yml:2: error: invalid YAML"),
        ("- a list\n", r"agentpages.yml:1: error: the config must be a mapping"),
    ],
)
def test_errors_name_the_key_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_in(tmp_path, text)
    assert caught.match(message)


def test_explicit_config_must_exist(tmp_path: Path) -> None:
    (tmp_path / "agents").mkdir()
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "agents", tmp_path / "site", tmp_path / "nope.yml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title:\n", None),  # an empty value keeps the default
        ("title: !!python/object/apply:os.system ['id']\n", r"agentpages.yml:1: error: invalid value: could not determine a constructor"),
        ("? [a, b]\n: c\n", r"agentpages.yml:1: error: keys must be plain names"),
        ("title: a\ntitle: b\n", r"agentpages.yml:2: error: 'title' is set twice"),
        ("theme_dir: nowhere\n", r"agentpages.yml:1: error: theme_dir 'nowhere' is not a folder"),
        ("max_file_size: true\n", r"agentpages.yml:1: error: 'max_file_size' must be a number, not a true/false value"),
        ("extra_tools: [1]\n", r"agentpages.yml:1: error: 'extra_tools' must be a list of tool names"),
    ],
)
def test_odd_configs_give_a_message_not_a_traceback(tmp_path: Path, text: str, message: str | None) -> None:
    if message is None:
        assert config_in(tmp_path, text).title == "Agent catalog"
        return
    with pytest.raises(ConfigError) as caught:
        config_in(tmp_path, text)
    assert caught.match(message)


@pytest.mark.parametrize(("text", "message"), [
    ("extra_css: [theme/missing.css]\n", "'extra_css' names 'theme/missing.css', which is no file"),
    ("extra_css: [../outside.css]\n", "'extra_css' names '../outside.css', which is no file"),
    ("extra_js: [theme/site.css]\n", "only .js files go there"),
    ("extra_css: [theme/site.css, other/site.css]\n", "two files called 'site.css'"),
    ("csp_origins: [http://plain.example]\n", "'csp_origins' must be a list of origins"),
    ("csp_origins: ['https://a.example; script-src *']\n", "'csp_origins' must be a list of origins"),
])
def test_extra_assets_and_origins_are_checked(tmp_path: Path, text: str, message: str) -> None:
    catalog = tmp_path / "catalog"
    (catalog / "agents").mkdir(parents=True)
    for name in ("theme/site.css", "other/site.css"):
        (catalog / name).parent.mkdir(exist_ok=True)
        (catalog / name).write_text("body {}\n")
    (tmp_path / "outside.css").write_text("body {}\n")
    (catalog / "agentpages.yml").write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(catalog / "agents", catalog / "site")
