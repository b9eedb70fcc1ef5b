# The server half of gen doctor (src/doctor/doctor-checks.ts builds its spec and reads its record): reads one JSON
# spec from argv[1] and the PostgreSQL login (secret values) as JSON on standard input, looks at everything the
# environment assumes and gen does not create, and prints one JSON record: {"checks": [...]}. Every item of the spec
# carries its own fix and the program only decides ok, warn or fail, but for Python, whose fix depends on the
# server's distribution (python_fix.py). It imports postgres_login.py and python_fix.py, sent with it.
import grp, json, os, pwd, shutil, socket, ssl, struct, subprocess, sys

import postgres_login
from python_fix import python_fix

# Set by main: the spec's timeout for each command and connection, and the PostgreSQL login (None without secrets).
timeout = None
login = None
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

def check_journal(j):
    # Not needed to apply or deploy: gen logs reads the units' journal as the release user, through these groups.
    user = j["user"]
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return  # the user check names what is missing
    member = [g for g in j["groups"] if in_group(user, g)]
    if entry.pw_uid == 0 or member:
        record("journal", user, "ok", "%s reads the system journal (%s)" % (user, "root" if entry.pw_uid == 0 else "group " + member[0]))
    else:
        record("journal", user, "warn", "%s is in none of the groups %s: gen logs cannot read the units' journal" % (user, ", ".join(j["groups"])), j["fix"])

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

# Whether python<app.pythonVersion> runs for the logged-in user, and a fix that exists on the server's distribution.
def check_python(p):
    name = "python" + p["version"]
    found = shutil.which(name)
    if not found:
        record("python", name, "fail", "%s is not on the PATH of %s (app.pythonVersion is %s)" % (name, whoami(), p["version"]), python_fix(p, whoami(), timeout))
        return
    done = run([found, "--version"])
    ok = done.returncode == 0
    record("python", name, "ok" if ok else "fail", "%s: %s" % (found, first_line(done.stdout + done.stderr)), None if ok else python_fix(p, whoami(), timeout))

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

# The login is postgres_login.py's; here its outcome in words an administrator can act on.
def check_postgres_login(p, login):
    subject = "%s@%s" % (p["shownUser"], p["shownDatabase"])
    where = "%s:%d" % (p["shownHost"], p["port"])
    fixes = p["fixes"]
    if p.get("loginSkip") or not login:
        record("postgres-login", subject, "warn", "not checked: %s" % p.get("loginSkip", "no credentials"), fixes.get("secret"))
        return
    if not p.get("reachable"):
        record("postgres-login", subject, "warn", "not checked: PostgreSQL does not answer on %s (see above)" % where)
        return
    try:
        sock, tls = postgres_login.pg_open(login["host"], p["port"], timeout)
    except ssl.SSLError as error:
        record("postgres-login", subject, "fail", "the server offers SSL, but the SSL handshake with %s failed: %s" % (where, error), fixes["ssl"])
        return
    except Exception as error:
        record("postgres-login", subject, "fail", "cannot connect to %s: %s" % (where, error), p["fix"])
        return
    address = sock.getsockname()[0]
    try:
        outcome, value = postgres_login.pg_authenticate(sock, login["user"], login["database"], login["password"])
    except Exception as error:
        record("postgres-login", subject, "fail", "the login on %s did not complete: %s: %s" % (where, type(error).__name__, error), fixes["log"])
        return
    finally:
        sock.close()
    over = " over SSL" if tls else ""
    fixes = dict(fixes, hba=fixes["hba"].replace("{cidr}", address + ("/128" if ":" in address else "/32")))
    if outcome == "ok":
        record("postgres-login", subject, "ok", "logged in as %s to database %s on %s%s (%s)" % (p["shownUser"], p["shownDatabase"], where, over, value))
    elif outcome == "method":
        record("postgres-login", subject, "fail", "the server asks for %s authentication, which gen cannot speak (cleartext password, md5 and SCRAM-SHA-256 only)" % value, fixes["method"])
    elif value.get("C") == "28P01":
        record("postgres-login", subject, "fail", "password authentication failed for user %s (the role has another password, or does not exist)" % p["shownUser"], fixes["password"])
    elif value.get("C") == "3D000":
        record("postgres-login", subject, "fail", "database %s does not exist" % p["shownDatabase"], fixes["database"])
    elif value.get("C") == "28000" and "no encryption" in value.get("M", "") and not tls:
        record("postgres-login", subject, "fail", "the server refused the login: %s (it offers no SSL: pg_hba.conf has no host line that lets %s in from %s, or only a hostssl line, which needs SSL)" % (value.get("M"), p["shownUser"], address), fixes["hba"])
    elif value.get("C") == "28000":
        record("postgres-login", subject, "fail", "the server refused the login: %s" % value.get("M"), fixes["hba"])
    else:
        record("postgres-login", subject, "fail", "the server refused the login: %s (SQLSTATE %s)" % (value.get("M"), value.get("C")), fixes["log"])

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

# sudo: what `sudo -n -l` lists for the deploy user against the commands of the drop-in gen writes, none missing and
# none more (every sudo rule is a way to root). Before the first apply the drop-in is not there yet: its commands are
# then what apply will install, not a problem, while any other command sudo allows still is. Rules that need a
# password are listed only to someone who gives it or who already has a rule without one (sudo's listpw=any): before
# the drop-in is installed they cannot be seen, so membership of the groups the distribution's /etc/sudoers lets run
# anything is looked at instead.
# sudo translates its messages and the headers of its listing: read them in English.
SUDO_ENV = dict(os.environ, LC_ALL="C")
PASSWORD_REQUIRED = "a password is required"

def unescape(command):
    out, i = "", 0
    while i < len(command):
        if command[i] == "\\" and i + 1 < len(command):
            i += 1
        out += command[i]
        i += 1
    return out

def sudo_commands(user):
    """What sudo lists for user, one command per line in the long format: [(command, sudoers file)], or an error."""
    argv = ["sudo", "-n", "-ll"] + (["-U", user] if whoami() != user else [])
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=SUDO_ENV)
    except FileNotFoundError:
        return None, "sudo is not installed"
    commands, source, in_commands = [], "", False
    for line in done.stdout.splitlines():
        if line.startswith("Sudoers entry"):
            source = line.split(":", 1)[1].strip() if ":" in line else ""
            in_commands = False
        elif line.strip() == "Commands:":
            in_commands = True
        elif in_commands and line.startswith("\t") and line.strip():
            commands.append((unescape(line.strip()), source))
        else:
            in_commands = False
    if done.returncode != 0 and not commands:
        return [], first_line(done.stderr + done.stdout)
    return commands, None

def drop_in_installed(path):
    """True or False; None when a folder above it may not be searched."""
    try:
        os.lstat(path)
        return True
    except FileNotFoundError:
        return False
    except OSError:
        return None

def in_group(user, name):
    """Whether a login puts user in group name."""
    try:
        return grp.getgrnam(name).gr_gid in os.getgrouplist(user, pwd.getpwnam(user).pw_gid)
    except KeyError:
        return False

def check_admin_groups(user, groups):
    for g in groups:
        if in_group(user, g["name"]):
            record("sudo", user, "fail", "%s is in group %s, which the distribution's /etc/sudoers lets run any command as root (with %s's password)" % (user, g["name"], user), g["fix"])

def check_sudo(s):
    user = s["user"]
    if whoami() != user and os.geteuid() != 0:
        record("sudo", user, "warn", "logged in as %s, who may not list what %s may run" % (whoami(), user))
        return
    listed, note = sudo_commands(user)
    if listed is None:
        record("sudo", user, "fail", note, s["installFix"])
        return
    wanted = s["commands"]
    have = [c for c, _ in listed]
    missing = [c for c in wanted if c not in have]
    extra = [(c, src) for c, src in listed if c not in wanted]
    hidden = note is not None and PASSWORD_REQUIRED in note
    if missing and drop_in_installed(s["path"]) is False and (note is None or hidden):
        detail = "the drop-in %s is not installed yet: gen apply installs it, with its %d commands" % (s["dropIn"], len(wanted))
        if hidden:
            detail += "; sudo -n -l as %s lists no command (rules that need a password show once the drop-in is installed: run gen doctor again after the first apply)" % user
        record("sudo", user, "ok", detail)
        if hidden:
            check_admin_groups(user, s["adminGroups"])
    elif missing:
        why = " (sudo -n -l: %s)" % note if note else ""
        record("sudo", user, "fail", "sudo -n -l as %s lacks %d of the drop-in's commands%s: %s" % (user, len(missing), why, ", ".join(missing)), s["missingFix"])
    if extra:
        sources = sorted({src for _, src in extra if src})
        own = s["dropIn"] in sources and len(sources) == 1
        if own:
            fix = s["missingFix"]
        elif len(sources) == 1:
            fix = "sudo visudo -f %s (remove the rules the drop-in does not list)" % sources[0]
        else:
            # sudo before 1.9.14 does not say which file an entry comes from
            fix = "sudo grep -rn %s /etc/sudoers /etc/sudoers.d, then remove those rules with sudo visudo -f <that file>" % user
        record("sudo", user, "fail", "sudo -n -l as %s lists %d commands the drop-in does not%s: %s" % (user, len(extra), " (from %s)" % ", ".join(sources) if sources else "", ", ".join(c for c, _ in extra)), fix)
    if not missing and not extra:
        record("sudo", user, "ok", "sudo -n -l as %s lists exactly the drop-in's %d commands" % (user, len(wanted)))

def main():
    global login, timeout
    spec = json.loads(sys.argv[1])
    login = json.loads(sys.stdin.read() or "{}").get("postgres")
    timeout = spec["timeout"]
    steps = [("user", spec["users"], check_user), ("group", spec["groups"], check_group),
             ("group", [spec["socket"]] if spec["socket"] else [], check_socket_access),
             ("journal", [spec["journal"]], check_journal), ("unit", spec["units"], check_unit),
             ("python", [spec["python"]], check_python), ("poetry", [spec["poetry"]] if spec["poetry"] else [], check_poetry),
             ("postgres", [spec["postgres"]] if spec["postgres"] else [], check_postgres),
             ("redis", [spec["redis"]] if spec["redis"] else [], check_redis),
             ("certificate", spec["certificates"], check_certificate), ("disk", [spec["disk"]], check_disk),
             ("sudo", [spec["sudo"]], check_sudo)]
    for name, items, check in steps:
        for item in items:
            try:
                check(item)
            except Exception as error:
                record(name, item.get("name") or item.get("shown") or item.get("group") or name, "fail", "check crashed: %s: %s" % (type(error).__name__, error))
    print(json.dumps({"checks": results}))

if __name__ == "__main__":
    main()
