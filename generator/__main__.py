"""Run the command line interface for `python -m generator`."""

from __future__ import annotations

import sys

from generator.cli import main

sys.exit(main())
