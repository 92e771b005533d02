"""Run the command line interface for `python -m generator`."""

from __future__ import annotations

from generator.commands.cli import run

run()
