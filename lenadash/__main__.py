"""Entry point for `python -m lenadash` (see lenadash/cli.py and docs/cli.md)."""

from lenadash.cli import main

raise SystemExit(main())
