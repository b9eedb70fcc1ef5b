#!/usr/bin/env python3
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend_site.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. On the server it comes from Debian's python3-django package "
            "(Poetry's virtualenv sees the system's packages)."
        ) from exc
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
