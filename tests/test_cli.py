"""The command line: exit codes, messages on stderr, and no tracebacks unless asked."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEMO_AGENTS, REPO, write_agents

from generator import __version__
from generator.commands.cli import ProgressBar, main
from generator.errors import Finding, format_findings

GOOD = "---\nname: good\ndescription: Fine.\ncolor: blue\n---\n\n## Role\n"
WARNS = "---\nname: odd\ndescription: Fine.\ncolor: sparkly\n---\n\n## Role\n"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def test_build_defaults_to_agents_and_site(tmp_path: Path, monkeypatch, capsys) -> None:
    shutil.copytree(DEMO_AGENTS, tmp_path / "agents")
    monkeypatch.chdir(tmp_path)
    code, err = run(["build"], capsys)
    assert code == 0
    assert (tmp_path / "site/agents/senior-backend-engineer/index.html").is_file()
    assert "agents/engineering/senior-backend-engineer.md:3:338: warning: the frontmatter is not valid YAML" in err
    assert err.splitlines()[-1].startswith("Built 11 agents into site in ")


def test_the_summary_line_counts_cache_hits_and_misses(tmp_path: Path, monkeypatch, capsys) -> None:
    shutil.copytree(DEMO_AGENTS, tmp_path / "agents")
    monkeypatch.chdir(tmp_path)
    summary = r"Built 11 agents into site in \d+\.\d\d s \(cache: {hits} hit, {misses} miss; {rest}2 warnings\)"
    assert re.fullmatch(summary.format(hits=0, misses=11, rest=""), run(["build"], capsys)[1].splitlines()[-1])
    last = run(["build"], capsys)[1].splitlines()[-1]
    assert re.fullmatch(summary.format(hits=11, misses=0, rest="nothing changed, nothing written; "), last)
    last = run(["build", "--no-cache"], capsys)[1].splitlines()[-1]
    assert re.fullmatch(r"Built 11 agents into site in \d+\.\d\d s \(2 warnings\)", last)


def test_the_progress_bar_draws_on_a_terminal_only() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        bar = ProgressBar(stream)
        bar.show(0, 1000)
        bar.show(1000, 1000)
        bar.clear()
    assert pipe.getvalue() == ""
    assert terminal.getvalue() == (
        "\r[" + "." * 30 + "] 0/1,000 agents" + "\r[" + "#" * 30 + "] 1,000/1,000 agents" + "\r\x1b[2K"
    )


def test_warnings_pass_a_plain_build_and_fail_a_strict_one(tmp_path: Path, monkeypatch, capsys) -> None:
    write_agents(tmp_path, {"odd.md": WARNS})
    monkeypatch.chdir(tmp_path)
    code, err = run(["build"], capsys)
    assert code == 0
    assert err.splitlines()[0] == (
        "agents/odd.md:4:8: warning: unknown color 'sparkly': use one of red, orange, yellow, green, "
        "cyan, blue, purple, pink, magenta, gray or a '#rrggbb' hex value [unknown-color]"
    )
    code, err = run(["build", "--strict", "--out", "strict-site"], capsys)
    assert code == 1
    assert err.splitlines()[-1] == "error: build failed in strict mode with 1 warning; the site was not changed"
    assert not (tmp_path / "strict-site").exists()


def test_build_prints_findings_as_check_does(tmp_path: Path, monkeypatch, capsys) -> None:
    shutil.copytree(DEMO_AGENTS, tmp_path / "agents")
    write_agents(tmp_path, {"odd.md": WARNS})
    monkeypatch.chdir(tmp_path)
    _, built = run(["build"], capsys)
    assert main(["check"]) == 0
    checked = capsys.readouterr().out
    assert checked and built.splitlines()[:-1] == checked.splitlines()
    _, warm = run(["build"], capsys)  # a build with nothing changed repeats them alike
    assert warm.splitlines()[:-1] == checked.splitlines()


@pytest.mark.parametrize("command", ["build", "check", "serve", "new"])
def test_the_readme_command_table_lists_every_option_help_lists(command: str, capsys) -> None:
    assert main([command, "--help"]) == 0
    listed = set(re.findall(r"^\s+(?:-\w, )?(--[\w-]+)", capsys.readouterr().out, re.MULTILINE)) - {"--help"}
    row = next(line for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines()
               if line.startswith(f"| `agentpages {command} "))
    usage = re.match(r"\| `([^`]*)`", row).group(1)  # type: ignore[union-attr]
    written = set(re.findall(r"--[\w-]+", usage)) | ({"--verbose"} if "[-v]" in usage else set())
    assert listed == written


@pytest.mark.parametrize("command", ["build", "check", "serve", "new"])
def test_an_unknown_option_shows_the_commands_own_usage(command: str, capsys) -> None:
    assert main([command, "--bogus"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: agentpages {command} ") and "unrecognized arguments: --bogus" in err


def test_a_file_name_cannot_reach_the_terminal_as_control_characters(tmp_path: Path, monkeypatch, capsys) -> None:
    write_agents(tmp_path, {"odd\x1b[2J\nforged.md": WARNS})
    monkeypatch.chdir(tmp_path)
    for command in (["build"], ["check"], ["check", "--format", "github"]):
        main(command)
        captured = capsys.readouterr()
        shown = captured.err + captured.out
        assert "\x1b" not in shown and "\nforged" not in shown, command
        assert "agents/odd\\x1b[2J\\nforged.md" in shown, command
    assert main(["check", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["path"] == "agents/odd\x1b[2J\nforged.md", "JSON keeps the name"


def test_findings_name_files_relative_to_the_working_folder_with_controls_escaped(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "work" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work")
    here, outside = Path.cwd(), str(Path.cwd().parent)
    shown = {
        Path("/"): "/", Path("/x.md"): "/x.md", Path("a.md"): "a.md", Path("sub/./a.md"): "sub/a.md",
        here: ".", here / "sub": "sub", here / "sub" / "b.md": "sub/b.md", here / "z\x1b.md": "z\\x1b.md",
        Path("/etc/p\nq.md"): "/etc/p\\nq.md", Path(".."): outside, Path("../up.md"): f"{outside}/up.md",
        tmp_path / "d\x07" / "e.md": f"{tmp_path}/d\\x07/e.md",
    }
    findings = [Finding(path, 3, "warning", "message\x1b[2J", "rule", 5) for path in shown]
    assert format_findings(findings).splitlines() == [
        f"{name}:3: warning: message\\x1b[2J [rule]" for name in shown.values()]
    assert format_findings(findings, with_column=True).splitlines() == [
        f"{name}:3:5: warning: message\\x1b[2J [rule]" for name in shown.values()]
    assert [str(finding) for finding in findings] == format_findings(findings).splitlines()


def test_errors_have_no_traceback_unless_verbose(tmp_path: Path, capsys) -> None:
    code, err = run(["build", "--agents", str(tmp_path / "missing")], capsys)
    assert code == 2
    assert err.strip().endswith("missing: error: agents folder not found (use --agents DIR)")
    assert "Traceback" not in err
    code, err = run(["build", "-v", "--agents", str(tmp_path / "missing")], capsys)
    assert code == 2 and "Traceback" in err


def test_config_errors_name_key_and_line(tmp_path: Path, monkeypatch, capsys) -> None:
    write_agents(tmp_path, {"good.md": GOOD})
    (tmp_path / "agentpages.yml").write_text("title: T\nthem_dir: x\n")
    monkeypatch.chdir(tmp_path)
    code, err = run(["build"], capsys)
    assert code == 1
    assert err.startswith("agentpages.yml:2: error: unknown key 'them_dir'")


def test_config_title_reaches_the_page(tmp_path: Path, monkeypatch, capsys) -> None:
    write_agents(tmp_path, {"good.md": GOOD})
    (tmp_path / "my.yml").write_text("title: Team agents\n")
    monkeypatch.chdir(tmp_path)
    assert run(["build", "--config", "my.yml"], capsys)[0] == 0
    assert "<title>Team agents</title>" in (tmp_path / "site/index.html").read_text()


def test_usage_errors_exit_2(capsys) -> None:
    assert run(["build", "--no-such-option"], capsys)[0] == 2
    assert run([], capsys)[0] == 2
    assert run(["publish"], capsys)[0] == 2


def test_help_and_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"agentpages {__version__}"
    assert main(["build", "--help"]) == 0
    help_text = capsys.readouterr().out
    for option in ("--agents", "--out", "--config", "--strict"):
        assert option in help_text


def test_module_and_console_script_run(tmp_path: Path) -> None:
    module = subprocess.run(
        [sys.executable, "-m", "generator", "--version"], capture_output=True, text=True, cwd=tmp_path
    )
    assert module.returncode == 0 and module.stdout.strip() == f"agentpages {__version__}"
    script = shutil.which("agentpages", path=str(Path(sys.executable).parent)) or shutil.which("agentpages")
    assert script, "the agentpages console script is installed"
    assert subprocess.run([script, "--version"], capture_output=True, text=True).returncode == 0


def run_program(*args: str, **options: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], text=True, **options)  # type: ignore[call-overload]


def test_the_program_flushes_all_its_output_before_it_leaves(tmp_path: Path) -> None:
    shutil.copytree(DEMO_AGENTS, tmp_path / "agents")
    (tmp_path / "agents/broken.md").write_text("---\nname: broken\n---\n\nNo description.\n")
    checked = run_program("-m", "generator", "check", "--agents", "agents", "--format", "json",
                          capture_output=True, cwd=tmp_path)
    assert checked.returncode == 1 and "Checked 12 agent files" in checked.stderr
    assert any(finding["path"].endswith("broken.md") for finding in json.loads(checked.stdout))
    built = run_program("-m", "generator", "build", "--agents", "agents", capture_output=True, cwd=tmp_path)
    assert built.returncode == 0 and built.stderr.splitlines()[-1].startswith("Built 12 agents")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs a device that is always full")
def test_output_that_cannot_be_written_at_exit_is_an_error(tmp_path: Path) -> None:
    buffered = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    with open("/dev/full", "w") as full:  # the few lines `new` prints wait in the buffer until the end
        result = run_program("-m", "generator", "new", "catalog", stdout=full, stderr=subprocess.PIPE,
                             cwd=tmp_path, env=buffered)
    assert result.returncode == 120 and "cannot write the output: No space left on device" in result.stderr


def test_a_profiler_still_gets_to_write_its_data(tmp_path: Path) -> None:
    result = run_program("-m", "cProfile", "-o", str(tmp_path / "run.prof"), "-m", "generator", "--version",
                         capture_output=True, cwd=tmp_path)
    assert result.returncode == 0 and (tmp_path / "run.prof").stat().st_size > 0


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci/run").read_text()
    commands = [line for line in readme.splitlines() if "pytest" in line and line.startswith("pip install")]
    assert commands, "the README shows the test command"
    assert commands[0] in ci.splitlines()


def test_a_stored_finding_is_printed_without_making_its_path(tmp_path: Path) -> None:
    """A build with nothing changed prints the last build's findings as the cache holds them:
    the same lines, equal findings, and no Path made for each (a tenth of such a build at 20,000)."""
    from generator.commands.cli import format_json, format_text

    made = Finding(tmp_path / "agents" / "bell\x07.md", 3, "warning", "a value\x1b[2J quoted", "rule", 7)
    stored = Finding.from_plain(json.loads(json.dumps(made.to_plain())))
    assert stored == made and hash(stored) == hash(made) and len({stored, made}) == 1
    assert format_text([stored]) == format_text([made]) and format_json([stored]) == format_json([made])
    assert str(stored) == str(made) and stored.with_column() == made.with_column()
    assert stored._path is None, "no Path was made to print it"
    assert stored.path == made.path and stored._path is not None
    with pytest.raises(AttributeError):
        stored.line = 4  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del stored.line
    with pytest.raises(TypeError):
        Finding.from_plain([None, 3, "warning", "message", "rule", 7])
