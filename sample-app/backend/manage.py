#!/usr/bin/env python3
"""Stands in for Django's manage.py: reads the settings gen linked into the release, runs no database."""
import glob
import os
import sys

import backend_site.settings as settings

command = sys.argv[1] if len(sys.argv) > 1 else "check"
if sys.argv[1:3] == ["showmigrations", "--plan"]:
    # As Django prints the plan (release.migrations reads it): every <app>/migrations/NNNN_*.py counts as applied.
    for path in sorted(glob.glob("*/migrations/[0-9]*.py")):
        print(f"[X]  {path.split(os.sep)[0]}.{os.path.basename(path)[:-3]}")
else:
    print(f"sample app: {command}: settings read, ALLOWED_HOSTS = {settings.ALLOWED_HOSTS}; nothing else to do")
