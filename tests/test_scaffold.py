"""`agentpages new` and the GitHub Pages workflow it shares with this repository."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import DEMO_AGENTS, REPO, write_agents

from generator.commands.cli import main
from generator.commands.new import (
    CATALOG_INSTALL_COMMAND,
    WORKFLOW_PATH,
    render_workflow,
)

REPO_INSTALL_COMMAND = "pip install -e ."


def readme_commands(readme: Path) -> list[str]:
    """Return the shell commands of a README's ```sh blocks, in order."""
    return re.findall(r"```sh\n(.+?)\n```", readme.read_text(encoding="utf-8"))


def workflow_runs(workflow: dict, job: str) -> list[str]:
    return [step["run"] for step in workflow["jobs"][job]["steps"] if "run" in step]


def test_new_creates_a_catalog_that_checks_and_builds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "team-agents"
    assert main(["new", str(folder)]) == 0
    created = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert created == [".github/workflows/pages.yml", ".gitignore", "README.md", "agentpages.yml",
                       "agents/code-reviewer.md", "requirements.txt"]
    assert "Next: cd " in capsys.readouterr().out
    assert main(["check", "--strict", "--agents", str(folder / "agents")]) == 0
    assert main(["build", "--strict", "--agents", str(folder / "agents"), "--out", str(folder / "site")]) == 0
    assert (folder / "site/agents/code-reviewer/index.html").is_file()
    assert yaml.safe_load((folder / "agentpages.yml").read_text())["title"] == "Team agents"
    assert "site/" in (folder / ".gitignore").read_text().splitlines()


def test_new_marketplace_checks_strictly_and_builds_at_its_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from conftest import parse_html

    folder = tmp_path / "Team Plugins"
    assert main(["new", "--marketplace", str(folder)]) == 0
    assert (folder / ".claude-plugin/marketplace.json").is_file()
    monkeypatch.chdir(folder)
    capsys.readouterr()
    assert main(["check", "--strict"]) == 0
    assert "1 agent file, 1 command, 1 skill: no problems" in capsys.readouterr().err
    assert main(["build", "--strict"]) == 0
    plugin = folder / "site/plugins/review-kit"
    for page in ("index.html", "agents/code-reviewer/index.html", "commands/review/index.html",
                 "skills/review-checklist/index.html", "skills/review-checklist/files/references/checklist.md.html"):
        assert (plugin / page).is_file(), page
    install = [" ".join(code.itertext()) for code in parse_html(plugin / "index.html").iter("code")
               if code.get("data-install-command") is not None]
    assert "/plugin install review-kit@team-plugins" in install
    skill = parse_html(plugin / "skills/review-checklist/index.html")
    assert "files/references/checklist.md.html" in [a.get("href") for a in skill.iter("a")]
    assert (folder / WORKFLOW_PATH).read_text() == render_workflow(CATALOG_INSTALL_COMMAND)


def test_new_never_overwrites_and_writes_nothing_when_it_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("mine\n")
    assert main(["new", str(tmp_path)]) == 1
    assert capsys.readouterr().err.endswith(
        "README.md:1: error: already exists; `agentpages new` never overwrites files: choose a new or empty "
        "folder, or move these aside\n"
    )
    assert (tmp_path / "README.md").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]


def test_new_refuses_a_file_or_link_in_the_way_before_writing_anything(tmp_path: Path, capsys) -> None:
    (tmp_path / "blocked").mkdir()
    (tmp_path / "blocked/.github").write_text("not a folder\n")
    assert main(["new", str(tmp_path / "blocked")]) == 1
    assert capsys.readouterr().err.endswith(
        "blocked/.github:1: error: is in the way: the new catalog needs a folder here; move it aside\n")
    assert [p.name for p in (tmp_path / "blocked").iterdir()] == [".github"]
    (tmp_path / "linked").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "linked/agents").symlink_to(tmp_path / "elsewhere")
    assert main(["new", str(tmp_path / "linked")]) == 1
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_any_folder_name_gives_a_valid_config(tmp_path: Path) -> None:
    for name in ("team: agents", "#hash", "quote\"d"):
        folder = tmp_path / name
        assert main(["new", str(folder)]) == 0
        config = yaml.safe_load((folder / "agentpages.yml").read_text())
        assert config["title"] == name.capitalize()
        assert main(["build", "--agents", str(folder / "agents"), "--out", str(folder / "site")]) == 0


def test_new_in_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()  # a fresh clone of an empty repository
    assert main(["new"]) == 0
    assert "Next: pip install -r requirements.txt && agentpages serve" in capsys.readouterr().out
    assert (tmp_path / "agents/code-reviewer.md").is_file()


@pytest.mark.parametrize(("workflow_path", "readme", "install"), [
    (REPO / WORKFLOW_PATH, REPO / "README.md", REPO_INSTALL_COMMAND),
    (None, None, CATALOG_INSTALL_COMMAND),
], ids=["this repository", "a new catalog"])
def test_the_pages_workflow(tmp_path: Path, workflow_path: Path | None, readme: Path | None, install: str) -> None:
    if workflow_path is None:
        main(["new", str(tmp_path)])
        workflow_path, readme = tmp_path / WORKFLOW_PATH, tmp_path / "README.md"
    text = workflow_path.read_text()
    assert text == render_workflow(install), "one workflow for both: regenerate it from generator/commands/scaffold/pages.yml"
    workflow = yaml.safe_load(text)
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"push", "pull_request", "workflow_dispatch"}
    assert triggers["push"]["branches"] == ["main"]
    assert workflow["permissions"] == {"contents": "read"}
    assert set(workflow["jobs"]) == {"build", "deploy"}

    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    uses = [step.get("uses", "").split("@")[0] for step in build["steps"]]
    assert "actions/upload-pages-artifact" in uses and "actions/configure-pages" in uses
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    only_main = "github.ref == 'refs/heads/main' && github.event_name != 'pull_request'"
    assert upload["with"]["path"] == "site" and upload["if"] == only_main
    assert build["permissions"] == {"contents": "read", "pages": "read"}
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["needs"] == "build" and deploy["if"] == only_main
    assert deploy["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    assert deploy["environment"]["name"] == "github-pages"
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]

    # The build steps are the README's own commands, and pull requests get annotations.
    runs = workflow_runs(workflow, "build")
    commands = readme_commands(readme)
    assert commands[0] == f"{install} && agentpages build" == runs[0]
    assert "agentpages check --format github" in runs
    check_step = next(s for s in build["steps"] if s.get("run") == "agentpages check --format github")
    assert check_step["if"] == "${{ !cancelled() }}"
    build_step = next(s for s in build["steps"] if s.get("run") == runs[0])
    assert build_step["env"]["AGENTPAGES_SITE_URL"] == "${{ steps.pages.outputs.base_url }}"
    checkout = build["steps"][0]
    assert checkout["uses"].startswith("actions/checkout") and checkout["with"]["fetch-depth"] == 0


def test_the_readmes_first_agent_file_and_the_demo_agents_pass_a_strict_check(tmp_path: Path, capsys) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = readme.split("```markdown\n", 1)[1].split("\n```", 1)[0]
    write_agents(tmp_path, {"senior-backend-engineer.md": example + "\n"})
    assert main(["check", "--strict", "--agents", str(tmp_path / "agents")]) == 0, capsys.readouterr().out
    demo = tmp_path / "demo"
    shutil.copytree(DEMO_AGENTS, demo)
    (demo / "engineering" / "senior-backend-engineer.md").unlink()  # the seed stays as real files are written
    assert main(["check", "--strict", "--agents", str(demo)]) == 0, capsys.readouterr().out
