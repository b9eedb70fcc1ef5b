import os


def current_release():
    """The release this process runs from: the folder above backend/, resolved (systemd enters
    /var/www/current/backend, so a process keeps the release that was live when it started)."""
    backend = os.path.realpath(os.getcwd())
    folder = os.path.dirname(backend)
    return {"release": os.path.basename(folder), "folder": folder}
