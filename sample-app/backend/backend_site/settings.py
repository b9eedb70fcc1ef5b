# The real application's settings module imports the file gen writes (settings_local.py, linked into the release).
from .settings_local import *  # noqa: F401,F403
