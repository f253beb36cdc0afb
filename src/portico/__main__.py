"""`python -m portico …` is the `portico` command."""

from portico.cli import main

main()
