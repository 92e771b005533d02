"""Run the command line interface for `python -m generator`."""

from __future__ import annotations

from generator.cli import run

run()
