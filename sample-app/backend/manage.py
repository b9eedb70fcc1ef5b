#!/usr/bin/env python3
"""Stands in for Django's manage.py: reads the settings gen linked into the release, runs no database."""
import sys

import backend_site.settings as settings

command = sys.argv[1] if len(sys.argv) > 1 else "check"
print(f"sample app: {command}: settings read, ALLOWED_HOSTS = {settings.ALLOWED_HOSTS}; nothing else to do")
