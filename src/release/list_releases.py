# The releases on a server in one python3 process (src/release/releases.ts builds its spec and reads its record):
# each release's deployment.json and migrations.json as JSON (None when missing, not JSON or too large), where
# `current` leads, and which processes use a release: their working folder or executable under it (/proc/<pid>/cwd
# and exe; a user may read its own processes' links, root everyone's; the others are skipped), so pruning never
# removes a folder that a worker left running by --celery-no-restart still works in.
import json, os, re, stat, sys

# Deeper than any file gen writes. Python's JSON parser and printer recurse: a file nested about 1000 deep, well
# within the size limit, made the listing itself fail (RecursionError), and with it releases, rollback and the prune.
MAX_DEPTH = 32

def within_depth(value, limit):
    """Whether `value` nests lists and objects at most `limit` deep, looked at without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth > limit:
                return False
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return True

def load(path, limit):
    # The deploy user's files: no link followed, no FIFO waited on, only a regular file, only up to the limit, and
    # no deeper than MAX_DEPTH.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = b""
        while len(data) <= limit:
            chunk = os.read(fd, limit + 1 - len(data))
            if not chunk:
                break
            data += chunk
        if len(data) > limit:
            return None
        value = json.loads(data.decode("utf-8"))
        return value if within_depth(value, MAX_DEPTH) else None
    except (OSError, ValueError, RecursionError):
        return None
    finally:
        os.close(fd)

def users(folder):
    """{release name: {pid, ...}} for the processes whose working folder or executable is inside `folder`."""
    inside, used = os.path.realpath(folder) + "/", {}
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return used
    for pid in pids:
        for link in ("cwd", "exe"):
            try:
                target = os.readlink("/proc/%s/%s" % (pid, link))
            except OSError:
                continue
            if target.startswith(inside):
                used.setdefault(target[len(inside):].split("/", 1)[0], set()).add(int(pid))
    return used

def main():
    spec = json.loads(sys.argv[1])
    try:
        names = sorted(os.listdir(spec["releases"]))
    except (FileNotFoundError, NotADirectoryError):
        names = []
    current = os.readlink(spec["current"]) if os.path.islink(spec["current"]) else None
    used = users(spec["releases"]) if names else {}
    releases = []
    for name in names:
        if not re.fullmatch(spec["pattern"], name):
            continue
        folder = os.path.join(spec["releases"], name)
        releases.append({
            "id": name,
            "deployment": load(os.path.join(folder, spec["publicDir"], "deployment.json"), spec["limit"]),
            "migrations": load(os.path.join(folder, "migrations.json"), spec["limit"]),
            "inUse": [str(pid) for pid in sorted(used.get(name, ()))[:20]],
        })
    print(json.dumps({"current": current, "releases": releases}))

if __name__ == "__main__":
    main()
