// The server half of the smoke checks: a Python 3 program (the server runs a Python application, so python3 is
// there) that reads one JSON spec from argv[1], runs each check and prints one JSON record. Only the standard
// library; sockets are server-local, which is why this runs on the server and not on the controller.
export const SMOKE_SCRIPT = String.raw`
import http.client, json, os, pwd, grp, socket, ssl, stat, subprocess, sys, time

spec = json.loads(sys.argv[1])
timeout = spec["timeout"]
results = []

def record(name, status, detail):
    results.append({"name": name, "status": status, "detail": detail})

class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path
    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(self.unix_path)
        self.sock = sock

def get(conn, path, host):
    try:
        conn.request("GET", path, headers={"Host": host, "User-Agent": "gen-check"})
        response = conn.getresponse()
        response.read(65536)
        return response.status, None
    except Exception as error:
        return None, "%s: %s" % (type(error).__name__, error)
    finally:
        conn.close()

def answer(name, where, status, error, want_ok=False):
    if status is None:
        record(name, "fail", "no answer from %s (%s)" % (where, error))
    elif status >= 500 or (want_ok and status != 200):
        record(name, "fail", "%s answered %d" % (where, status))
    else:
        record(name, "ok", "%s answered %d" % (where, status))

def https_get(n, path):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        raw = socket.create_connection((n["host"], n["port"]), timeout=timeout)
        with context.wrap_socket(raw, server_hostname=n["domain"]) as sock:
            request = "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: gen-check\r\nConnection: close\r\n\r\n" % (path, n["domain"])
            sock.sendall(request.encode())
            data = b""
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            line = data.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split(" ")
            if len(parts) < 2 or not parts[1].isdigit():
                return None, "not an HTTP answer: %r" % line[:80]
            return int(parts[1]), None
    except Exception as error:
        return None, "%s: %s" % (type(error).__name__, error)

def nginx_get(n, path):
    if n["tls"]:
        return https_get(n, path)
    return get(http.client.HTTPConnection(n["host"], n["port"], timeout=timeout), path, n["domain"])

def check_gunicorn(g):
    status, error = get(UnixConnection(g["socket"]), g["path"], g["domain"])
    answer("gunicorn", "%s (Host: %s, %s)" % (g["shownSocket"], g["domain"], g["path"]), status, error)

def check_nginx(n):
    status, error = nginx_get(n, n["path"])
    answer("nginx", "%s://%s:%d%s (Host: %s)" % ("https" if n["tls"] else "http", n["host"], n["port"], n["path"], n["domain"]), status, error)

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
        record("static", "fail", "no collected static file under %s (did collectstatic run?)" % s["shownDir"])
        return
    url = s["location"] + found
    status, error = nginx_get(n, url)
    answer("static", "nginx for %s" % url, status, error, want_ok=True)

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

def check_celery(c):
    try:
        done = subprocess.run(c["argv"], cwd=c["cwd"], capture_output=True, text=True, timeout=timeout + 5)
    except Exception as error:
        record("celery", "fail", "%s: %s" % (" ".join(c["argv"]), error))
        return
    output = (done.stdout + done.stderr).strip()
    if done.returncode == 0 and "pong" in output:
        record("celery", "ok", "answered ping")
    else:
        last = output.splitlines()[-1] if output else "no output"
        record("celery", "fail", "no pong (exit %d): %s" % (done.returncode, last))

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

for name in spec["order"]:
    try:
        if name == "gunicorn": check_gunicorn(spec["gunicorn"])
        elif name == "nginx": check_nginx(spec["nginx"])
        elif name == "static": check_static(spec["static"], spec["nginx"])
        elif name == "media": check_media(spec["media"])
        elif name == "celery": check_celery(spec["celery"])
        elif name == "certificate": check_certificate(spec["certificate"], spec["nginx"])
    except Exception as error:
        record(name, "fail", "check crashed: %s: %s" % (type(error).__name__, error))

print(json.dumps({"checks": results}))
`;
