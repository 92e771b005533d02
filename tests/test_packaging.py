"""An installed wheel carries the built-in templates and builds a catalog anywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import REPO, SEED, parse_html


def test_wheel_installed_elsewhere_builds_a_catalog(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(REPO)],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("agentpages-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "generator/templates/agent.html" in names
    assert "generator/templates/assets/style.css" in names
    assert "generator/site/catalog.schema.json" in names
    assert "generator/commands/scaffold/pages.yml" in names and "generator/commands/scaffold/gitignore" in names

    lib = tmp_path / "lib"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(lib), str(wheel)],
        check=True,
    )
    catalog = tmp_path / "catalog"
    (catalog / "agents").mkdir(parents=True)
    shutil.copy(SEED, catalog / "agents")
    env = {**os.environ, "PYTHONPATH": str(lib)}
    where = subprocess.run(
        [sys.executable, "-c", "import generator; print(generator.__file__)"],
        cwd=catalog, env=env, capture_output=True, text=True, check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(lib), "the installed copy is the one imported"
    subprocess.run([sys.executable, "-m", "generator", "build"], cwd=catalog, env=env, check=True)
    page = parse_html(catalog / "site/agents/senior-backend-engineer/index.html")
    assert len(page.xpath("//*[@data-example]")) == 5
    assert (catalog / "site/catalog.schema.json").is_file()

    subprocess.run([sys.executable, "-m", "generator", "new", "fresh"], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-m", "generator", "build", "--strict"], cwd=tmp_path / "fresh", env=env,
                   check=True, capture_output=True)
    assert (tmp_path / "fresh/site/agents/code-reviewer/index.html").is_file()
    assert (tmp_path / "fresh/.github/workflows/pages.yml").is_file()

    # The new catalog's requirements.txt names this release: once published, it installs.
    assert (tmp_path / "fresh/requirements.txt").read_text() == f"agentpages=={version_of(wheel)}\n"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--find-links", str(tmp_path / "dist"),
         "--target", str(tmp_path / "catalog-lib"), "-r", str(tmp_path / "fresh/requirements.txt")],
        check=True,
    )
    assert (tmp_path / "catalog-lib/generator/commands/scaffold/pages.yml").is_file()


def version_of(wheel: Path) -> str:
    return wheel.name.split("-")[1]


def test_the_screenshot_script_explains_itself_without_touching_the_readmes_images() -> None:
    images = REPO / "docs" / "images"
    before = {path.name: path.stat().st_mtime_ns for path in images.iterdir()}
    for argv in (["--help"], ["--bogus"]):
        done = subprocess.run([sys.executable, str(REPO / "scripts/screenshots.py"), *argv], capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
        assert done.returncode == (0 if argv == ["--help"] else 2) and "usage: screenshots.py" in done.stdout + done.stderr
    assert {path.name: path.stat().st_mtime_ns for path in images.iterdir()} == before
    assert sorted(before) == ["agent-dark.png", "agent-light.png", "index-dark.png", "index-light.png"]
