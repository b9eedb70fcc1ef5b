// The server half of `gen doctor`: a Python 3 program (standard library only) that reads one JSON spec from
// argv[1] and the PostgreSQL login (secret values) as JSON on standard input, looks at everything the environment
// assumes and gen does not create, and prints one JSON record. It runs on the server because users, units,
// sockets and sudo's view of the deploy user are the server's, and the database is reached from there.
// Every item of the spec carries its own fix and the program only decides ok, warn or fail, but for Python: what to
// install depends on the server's distribution, which only the server can tell (python-script.ts).
import { POSTGRES_LOGIN_SCRIPT } from "./postgres-login-script.js";
import { PYTHON_SCRIPT } from "./python-script.js";
import { SUDO_SCRIPT } from "./sudo-script.js";

export const DOCTOR_SCRIPT = String.raw`
import grp, json, os, pwd, shutil, socket, struct, subprocess, sys

spec = json.loads(sys.argv[1])
login = json.loads(sys.stdin.read() or "{}").get("postgres")
timeout = spec["timeout"]
results = []

def record(check, subject, status, detail, fix=None):
    item = {"check": check, "subject": subject, "status": status, "detail": detail}
    if status != "ok" and fix:
        item["fix"] = fix
    results.append(item)

def first_line(text):
    lines = [l.strip() for l in (text or "").splitlines() if l.strip()]
    return lines[-1] if lines else "no output"

def check_user(u):
    try:
        entry = pwd.getpwnam(u["name"])
        record("user", u["name"], "ok", "exists (uid %d)" % entry.pw_uid)
    except KeyError:
        record("user", u["name"], "fail", "user %s does not exist (%s)" % (u["name"], u["role"]), u["fix"])

def check_group(g):
    try:
        entry = grp.getgrnam(g["name"])
        record("group", g["name"], "ok", "exists (gid %d)" % entry.gr_gid)
    except KeyError:
        record("group", g["name"], "fail", "group %s does not exist (%s)" % (g["name"], g["role"]), g["fix"])

def check_socket_access(s):
    # Whoever cannot connect is told so by every deploy's smoke check: say it before the first one.
    user, group = s["user"], s["group"]
    try:
        entry, gid = pwd.getpwnam(user), grp.getgrnam(group).gr_gid
    except KeyError:
        return  # the user or group check names what is missing
    where = "the Gunicorn socket %s (%s:%s %s)" % (s["socket"], s["owner"], group, s["shownMode"])
    if entry.pw_uid == 0:
        record("group", group, "ok", "%s is root and may connect to %s" % (user, where))
    elif user == s["owner"]:
        allowed = s["mode"] & 0o200
        record("group", group, "ok" if allowed else "fail", "%s owns %s%s" % (user, where, "" if allowed else ", whose mode does not let its owner connect"), s["modeFix"])
    elif gid in os.getgrouplist(user, entry.pw_gid):
        allowed = s["mode"] & 0o020
        record("group", group, "ok" if allowed else "fail", "%s is in group %s: %s%s" % (user, group, where, "" if allowed else ", whose mode does not let the group connect"), s["modeFix"])
    else:
        record("group", group, "fail", "%s is not in group %s: every deploy's Gunicorn smoke check connects to %s as %s, and is refused" % (user, group, where, user), s["fix"])

def check_unit(u):
    for folder, shown in zip(u["dirs"], u["shownDirs"]):
        if os.path.exists(os.path.join(folder, u["unit"])):
            record("unit", u["unit"], "ok", "installed (%s/%s)" % (shown, u["unit"]))
            return
    record("unit", u["unit"], "fail", "%s is not installed (server.systemServices names it; looked in %s)" % (u["unit"], ", ".join(u["shownDirs"])), u["fix"])

def run(argv, user=None):
    # The deploy user's own settings (poetry config) are read as that user when the session is root's.
    if user and os.geteuid() == 0 and shutil.which("runuser"):
        argv = ["runuser", "-u", user, "--"] + argv
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

${PYTHON_SCRIPT}
def check_poetry(p):
    if not os.path.isfile(p["path"]) or not os.access(p["path"], os.X_OK):
        record("poetry", p["shown"], "fail", "no executable poetry at %s (app.poetry)" % p["shown"], p["fix"])
        record("poetry-in-project", p["shown"], "fail", "not checked: poetry is missing", p["inProjectFix"])
        return
    try:
        done = run([p["path"], "--version"], p["user"])
        record("poetry", p["shown"], "ok" if done.returncode == 0 else "fail", first_line(done.stdout + done.stderr), p["fix"])
        done = run([p["path"], "config", "virtualenvs.in-project"], p["user"])
    except Exception as error:
        record("poetry-in-project", p["shown"], "fail", "poetry did not answer: %s" % error, p["inProjectFix"])
        return
    value = first_line(done.stdout)
    if done.returncode == 0 and value == "true":
        record("poetry-in-project", p["shown"], "ok", "virtualenvs.in-project is true for %s" % p["user"])
    else:
        record("poetry-in-project", p["shown"], "fail", "virtualenvs.in-project is %s for %s: each release needs its own .venv" % (value if done.returncode == 0 else "unreadable (%s)" % first_line(done.stderr), p["user"]), p["inProjectFix"])

def connect(host, port):
    return socket.create_connection((host, port), timeout=timeout)

def check_postgres(p):
    host = p["host"] or (login or {}).get("host")
    where = "%s:%d" % (p["shownHost"], p["port"])
    if not host:
        record("postgres", where, "warn", p["skip"])
        check_postgres_login(p, login)
        return
    try:
        sock = connect(host, p["port"])
    except Exception as error:
        record("postgres", where, "fail", "nothing answers on %s (%s)" % (where, error), p["fix"])
        check_postgres_login(p, login)
        return
    try:
        # An SSLRequest: a PostgreSQL server answers one byte, S or N, before any credentials.
        sock.sendall(struct.pack("!ii", 8, 80877103))
        answer = sock.recv(1)
    except Exception as error:
        answer = ("%s: %s" % (type(error).__name__, error)).encode()
    finally:
        sock.close()
    if answer in (b"S", b"N"):
        record("postgres", where, "ok", "PostgreSQL answers on %s" % where)
        p["reachable"] = True
    else:
        record("postgres", where, "fail", "%s accepts connections but does not answer as PostgreSQL (%r)" % (where, answer.decode("latin-1")[:80]), p["fix"])
    check_postgres_login(p, dict(login, host=host) if login else None)

${POSTGRES_LOGIN_SCRIPT}
def check_redis(r):
    where = "%s:%d" % (r["host"], r["port"])
    try:
        sock = connect(r["host"], r["port"])
    except Exception as error:
        record("redis", where, "fail", "nothing answers on %s (%s)" % (where, error), r["fix"])
        return
    data = b""
    try:
        sock.sendall(b"PING\r\n")
        while b"\r\n" not in data:
            chunk = sock.recv(256)
            if not chunk:
                break
            data += chunk
    except Exception as error:
        data = ("%s: %s" % (type(error).__name__, error)).encode()
    finally:
        sock.close()
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    if line == "+PONG":
        record("redis", where, "ok", "answered PING with +PONG")
    elif line.startswith("-NOAUTH"):
        record("redis", where, "fail", "Redis on %s wants a password, and the broker URL has none" % where, r["authFix"])
    else:
        record("redis", where, "fail", "%s accepts connections but gave no +PONG (%r)" % (where, line[:80]), r["fix"])

def check_certificate(c):
    try:
        os.stat(c["file"])
        record("certificate", c["shown"], "ok", "exists")
    except FileNotFoundError:
        record("certificate", c["shown"], "fail", "%s is missing (the nginx site names it)" % c["shown"], c["fix"])
    except PermissionError:
        record("certificate", c["shown"], "warn", "%s cannot tell whether %s exists (a folder above it is not readable)" % (whoami(), c["shown"]))

def check_disk(d):
    path, shown = d["path"], d["shown"]
    while not os.path.exists(path) and path not in ("/", ""):
        path, shown = os.path.dirname(path), os.path.dirname(shown) or "/"
    info = os.statvfs(path or "/")
    free = info.f_bavail * info.f_frsize // (1024 * 1024)
    detail = "%d MiB free on %s (for %s; at least %d MiB wanted)" % (free, shown, d["shown"], d["minFreeMb"])
    record("disk", d["shown"], "ok" if free >= d["minFreeMb"] else "fail", detail, d["fix"])

def whoami():
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return "uid %d" % os.geteuid()

${SUDO_SCRIPT}
steps = [("user", spec["users"], check_user), ("group", spec["groups"], check_group),
         ("group", [spec["socket"]] if spec["socket"] else [], check_socket_access), ("unit", spec["units"], check_unit),
         ("python", [spec["python"]], check_python), ("poetry", [spec["poetry"]], check_poetry),
         ("postgres", [spec["postgres"]], check_postgres), ("redis", [spec["redis"]], check_redis),
         ("certificate", spec["certificates"], check_certificate), ("disk", [spec["disk"]], check_disk),
         ("sudo", [spec["sudo"]], check_sudo)]
for name, items, check in steps:
    for item in items:
        try:
            check(item)
        except Exception as error:
            record(name, item.get("name") or item.get("shown") or item.get("group") or name, "fail", "check crashed: %s: %s" % (type(error).__name__, error))

print(json.dumps({"checks": results}))
`;
