#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    if sys.argv[1:2] == ["runstack"]:
        # The development stack: debug on, and so the development key, unless DEBUG is
        # set (its children get the same). Any other command with DEBUG unset is
        # production and needs a real SECRET_KEY.
        os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
