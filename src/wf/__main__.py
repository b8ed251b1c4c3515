"""``python -m wf`` entry point."""

from wf.cli import run_main

run_main()
