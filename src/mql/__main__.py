"""`python -m mql`: the command line, as the `mql` script."""

from mql.cli.main import run

run()
