"""`python -m feedpub` runs the command line."""

from feedpub.cli import run

run()
