"""``python -m taskforge`` runs the command line."""

from taskforge.cli.app import main

if __name__ == "__main__":  # worker processes (spawn) import this module too
    main()
