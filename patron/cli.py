"""The `patron` command: Patron's own commands (serve, demo, createuser, …) and every
`manage.py` command, with the settings module already chosen."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.settings")
    from django.core.management import execute_from_command_line

    from patron.core import context

    argv = sys.argv[:]
    argv[0] = "patron"
    if len(argv) == 1:
        argv.append("help")
    # Changes made by CLI commands are audited with origin "cli" and one request id per run.
    with context.bind(origin="cli"):
        execute_from_command_line(argv)


if __name__ == "__main__":
    main()
