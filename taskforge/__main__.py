"""``python -m taskforge`` runs the command line."""

from taskforge.cli.app import main

main()
