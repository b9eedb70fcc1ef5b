# The server half of the smoke checks (src/release/smoke-checks.ts builds its spec and reads its record): reads one
# JSON spec from argv[1], runs each check and prints one JSON record, {"checks": [...]}. A check that depends on a
# service just restarted is tried again until it passes or its time runs out; the unit behind it is looked at
# meanwhile, and one that stopped (failed, or its main process gone) ends the wait at once, with its last journal
# lines as data (the application writes them).
import json, os, pwd, grp, socket, ssl, stat, subprocess, sys, time

# Set by main from the spec. Each check may take `timeout` seconds from its first attempt: a service that restarted
# may not answer at once. PAUSE: seconds between two attempts, and between two looks at the unit behind a check
# while an answer is awaited.
timeout = None
PAUSE = 1.0
results = []

def record(name, status, detail, journal=None):
    entry = {"name": name, "status": status, "detail": detail}
    if journal:
        entry["journal"] = journal
    results.append(entry)

def left(deadline):
    return max(0.0, deadline - time.monotonic())

def described(error):
    return "%s: %s" % (type(error).__name__, error)

class NotReady(Exception):
    """An attempt that a later one may pass: a refused or reset connection, 502/503/504, no pong yet."""

class Failed(Exception):
    """An attempt whose failure waiting cannot change (the socket's permissions, a missing program)."""

class UnitDown(Exception):
    """The unit behind the check stopped while an answer was awaited: waiting longer cannot help."""

def run_text(argv, wait, cwd=None):
    done = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, timeout=wait)
    return done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")

def unit_properties(unit):
    try:
        _, out, _ = run_text(unit["show"], 10)
    except Exception:
        return None
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return props if "ActiveState" in props else None

def unit_journal(unit):
    """The unit's last journal lines as systemctl status prints them (as root, through sudo): text, never run."""
    if not unit["status"]:
        return None
    try:
        _, out, _ = run_text(unit["status"], 10)
    except Exception:
        return None
    lines = out.splitlines()
    if "" in lines:
        lines = lines[lines.index("") + 1 :]
    lines = [line[:400] for line in lines if line.strip()][-20:]
    return lines or None

def unit_down(unit):
    """None while the unit may still come up; else why it will not, with its journal (found once, then kept)."""
    if "down" in unit:
        return unit["down"]
    props = unit_properties(unit)
    if props is None:
        return None
    state, now = props.get("ActiveState", ""), time.monotonic()
    if state == "inactive":
        # A socket-activated service is inactive until a connection starts it: gone only when it stays so.
        if now - unit.setdefault("inactive_since", now) < 2 * PAUSE:
            return None
    elif state != "failed":
        unit.pop("inactive_since", None)
        return None
    status = props.get("ExecMainStatus", "")
    detail = unit["unit"] + (" failed" if state == "failed" else " is inactive: its main process is gone")
    if unit["exitMeanings"].get(status):
        detail += ": " + unit["exitMeanings"][status]
    detail += " (exit status %s, result %s)" % (status or "?", props.get("Result", "?"))
    journal = unit_journal(unit)
    if journal is None:
        detail += "; its journal could not be read (sudo journalctl -u %s shows it)" % unit["unit"]
    unit["down"] = (detail, journal)
    return unit["down"]

def down_result(unit, lead):
    detail, journal = unit["down"]
    # The journal goes with the first check that names the unit, not with every check behind it.
    if unit.get("reported"):
        journal = None
    unit["reported"] = True
    return ("fail", "%s; %s" % (lead, detail), journal)

def until_ready(attempt, unit=None):
    """attempt(deadline) until it gives a result, the unit behind it stops or the check's time runs out."""
    deadline, tries = time.monotonic() + timeout, 0
    while True:
        began, tries = time.monotonic(), tries + 1
        try:
            return attempt(deadline)
        except Failed as error:
            return ("fail", str(error), None)
        except UnitDown as error:
            return down_result(unit, str(error))
        except NotReady as error:
            reason = str(error)
        if unit and unit_down(unit):
            return down_result(unit, reason)
        pause = max(0.0, PAUSE - (time.monotonic() - began))
        if time.monotonic() + pause >= deadline:
            return ("fail", "%s (%d attempt%s in %d s)" % (reason, tries, "" if tries == 1 else "s", timeout), None)
        time.sleep(pause)

def open_unix(path, wait):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(wait)
        sock.connect(path)
        return sock
    except BaseException:
        sock.close()
        raise

def open_nginx(n, wait):
    sock = socket.create_connection((n["host"], n["port"]), timeout=wait)
    if not n["tls"]:
        return sock
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        return context.wrap_socket(sock, server_hostname=n["domain"])
    except BaseException:
        sock.close()
        raise

def request(sock, where, host, path, deadline, unit):
    """Sends one GET, waits for the status line until the deadline (looking at its unit meanwhile), reads a little more."""
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: gen-check\r\nConnection: close\r\n\r\n" % (path, host)).encode("latin-1"))
    sock.settimeout(PAUSE)
    data = b""
    while b"\r\n" not in data and len(data) < 8192:
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            if unit and unit_down(unit):
                raise UnitDown("no answer from %s" % where)
            if left(deadline) <= 0:
                raise NotReady("no answer from %s within %d s" % (where, timeout))
            continue
        if not chunk:
            raise NotReady("no answer from %s (the connection was closed without an answer)" % where)
        data += chunk
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) < 2 or not parts[1].isdigit():
        raise Failed("no answer from %s (not an HTTP answer: %r)" % (where, line[:80]))
    # The rest of a short answer, so that the server is not cut off while it writes it.
    sock.settimeout(min(2.0, max(0.1, left(deadline))))
    try:
        while len(data) < 65536:
            chunk = sock.recv(65536 - len(data))
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return int(parts[1])

def get(opener, where, host, path, deadline, unit=None):
    """One attempt: the HTTP status. A refused or reset connection and 502/503/504 are NotReady: not yet up."""
    try:
        sock = opener(max(0.1, min(5.0, left(deadline))))
    except (ConnectionError, FileNotFoundError, socket.timeout) as error:
        raise NotReady("no answer from %s (%s)" % (where, described(error)))
    except (OSError, ValueError) as error:
        raise Failed("no answer from %s (%s)" % (where, described(error)))
    try:
        status = request(sock, where, host, path, deadline, unit)
    except (ConnectionError, socket.timeout) as error:
        raise NotReady("no answer from %s (%s)" % (where, described(error)))
    except (OSError, ValueError) as error:
        raise Failed("no answer from %s (%s)" % (where, described(error)))
    finally:
        sock.close()
    if status in (502, 503, 504):
        raise NotReady("%s answered %d" % (where, status))
    return status

def answered(where, status, want_ok=False):
    if status >= 500 or (want_ok and status != 200):
        return ("fail", "%s answered %d" % (where, status), None)
    return ("ok", "%s answered %d" % (where, status), None)

def check_gunicorn(g, unit):
    where = "%s (Host: %s, %s)" % (g["shownSocket"], g["domain"], g["path"])
    opener = lambda wait: open_unix(g["socket"], wait)
    return until_ready(lambda deadline: answered(where, get(opener, where, g["domain"], g["path"], deadline, unit)), unit)

def check_nginx(n, unit):
    where = "%s://%s:%d%s (Host: %s)" % ("https" if n["tls"] else "http", n["host"], n["port"], n["path"], n["domain"])
    opener = lambda wait: open_nginx(n, wait)
    return until_ready(lambda deadline: answered(where, get(opener, where, n["domain"], n["path"], deadline, unit)), unit)

def check_static(s, n):
    found = None
    for folder, dirs, files in os.walk(s["dir"]):
        dirs.sort()
        for name in sorted(files):
            found = os.path.relpath(os.path.join(folder, name), s["dir"])
            break
        if found:
            break
    if not found:
        return ("fail", "no collected static file under %s (did collectstatic run?)" % s["shownDir"], None)
    url = s["location"] + found
    where = "nginx for %s" % url
    opener = lambda wait: open_nginx(n, wait)
    return until_ready(lambda deadline: answered(where, get(opener, where, n["domain"], url, deadline), want_ok=True))

def can(info, uid, gids, bits):
    if uid == 0:
        return True
    if info.st_uid == uid:
        return (info.st_mode >> 6) & bits == bits
    if info.st_gid in gids:
        return (info.st_mode >> 3) & bits == bits
    return info.st_mode & bits == bits

def check_media(m):
    try:
        user = pwd.getpwnam(m["user"])
    except KeyError:
        record("media", "fail", "user %s does not exist" % m["user"])
        return
    gids = {user.pw_gid} | {g.gr_gid for g in grp.getgrall() if m["user"] in g.gr_mem}
    root = m["root"].rstrip("/")
    parts = [p for p in m["path"].split("/") if p]
    for index in range(len(parts)):
        shown = "/" + "/".join(parts[: index + 1])
        last = index == len(parts) - 1
        try:
            info = os.stat(root + shown)
        except OSError as error:
            record("media", "fail", "%s: %s" % (shown, error.strerror))
            return
        # the folder itself must be listable and readable (r+x), every folder above it traversable (x)
        if not can(info, user.pw_uid, gids, 5 if last else 1):
            record("media", "fail", "%s is not %s by %s (mode %o, %s:%s)" % (shown, "readable" if last else "traversable", m["user"], stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid))
            return
    record("media", "ok", "%s is readable by %s" % (m["path"], m["user"]))

def check_celery(c, unit):
    command = " ".join(c["argv"])
    def attempt(deadline):
        try:
            code, out, err = run_text(c["argv"], left(deadline) + 5, cwd=c["cwd"])
        except subprocess.TimeoutExpired:
            raise NotReady("%s did not finish within %d s" % (command, timeout))
        except OSError as error:
            raise Failed("%s: %s" % (command, error))
        output = (out + err).strip()
        if code == 0 and "pong" in output:
            return ("ok", "answered ping", None)
        last = output.splitlines()[-1] if output else "no output"
        raise NotReady("no pong (exit %d): %s" % (code, last[:400]))
    return until_ready(attempt, unit)

def enddate(pem_path=None, pem=None):
    argv = ["openssl", "x509", "-noout", "-enddate"] + (["-in", pem_path] if pem_path else [])
    done = subprocess.run(argv, input=pem, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or "openssl x509 failed")
    return ssl.cert_time_to_seconds(done.stdout.strip().split("=", 1)[1])

def check_certificate(c, n):
    try:
        if os.access(c["file"], os.R_OK):
            ends, source = enddate(pem_path=c["file"]), c["shownFile"]
        else:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            raw = socket.create_connection((n["host"], n["port"]), timeout=timeout)
            with context.wrap_socket(raw, server_hostname=n["domain"]) as sock:
                der = sock.getpeercert(binary_form=True)
            ends, source = enddate(pem=ssl.DER_cert_to_PEM_cert(der)), "the certificate nginx serves (%s is not readable)" % c["shownFile"]
    except Exception as error:
        record("certificate", "warn", "could not read %s: %s" % (c["shownFile"], error))
        return
    days = int((ends - time.time()) // 86400)
    if ends <= time.time():
        record("certificate", "fail", "%s expired on %s" % (source, time.strftime("%Y-%m-%d", time.gmtime(ends))))
    elif days < c["days"]:
        record("certificate", "warn", "%s expires in %d days (on %s), fewer than %d" % (source, days, time.strftime("%Y-%m-%d", time.gmtime(ends)), c["days"]))
    else:
        record("certificate", "ok", "%s valid for %d more days" % (source, days))

def main():
    global timeout, PAUSE
    spec = json.loads(sys.argv[1])
    timeout = spec["timeout"]
    PAUSE = spec.get("pause", 1.0)
    units = spec["units"]
    checks = {
        "gunicorn": lambda: check_gunicorn(spec["gunicorn"], units.get("gunicorn")),
        # nginx proxies to Gunicorn: a Gunicorn that stopped ends nginx's wait too.
        "nginx": lambda: check_nginx(spec["nginx"], units.get("gunicorn")),
        "static": lambda: check_static(spec["static"], spec["nginx"]),
        "media": lambda: check_media(spec["media"]),
        "celery": lambda: check_celery(spec["celery"], units.get("celery")),
        "certificate": lambda: check_certificate(spec["certificate"], spec["nginx"]),
    }
    for name in spec["order"]:
        try:
            outcome = checks[name]()
            if outcome:
                record(name, *outcome)
        except Exception as error:
            record(name, "fail", "check crashed: %s: %s" % (type(error).__name__, error))
    print(json.dumps({"checks": results}))

if __name__ == "__main__":
    main()
