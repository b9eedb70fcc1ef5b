# Which packages give the Python an environment asks for (app.pythonVersion) on the server's distribution, a module
# of gen doctor's program (doctor.py). /etc/os-release names the distribution; apt-cache policy says which of the
# packages it has (python3's candidate is its own Python) when apt has package lists, and the spec's table of
# releases when it has none. A version the distribution does not have is not offered as a package: the fix is to set
# app.pythonVersion to the one it has, or to get Python another way.
import os, re, shlex, subprocess, sys

def os_release(paths):
    """The fields of the first os-release file that can be read ({} when none)."""
    for path in paths:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        fields = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and re.match(r"^[A-Z0-9_]+$", key):
                try:
                    words = shlex.split(value)
                except ValueError:
                    words = [value.strip("'\"")]
                fields[key] = words[0] if words else ""
        return fields
    return {}

def known_distribution(fields, table):
    codenames = {fields.get("VERSION_CODENAME"), fields.get("UBUNTU_CODENAME")} - {None, ""}
    for entry in table:
        if entry["codename"] in codenames or (fields.get("ID") == entry["id"] and fields.get("VERSION_ID") == entry["versionId"]):
            return entry
    return None

def major_minor(version):
    found = re.match(r"^(?:\d+:)?(\d+\.\d+)", version or "")
    return found.group(1) if found else None

def apt_policy(text):
    """{package: candidate version} from apt-cache policy, or None when apt reads no package list (only dpkg's status)."""
    candidates, package = {}, None
    for line in text.splitlines():
        if line and not line[0].isspace() and line.endswith(":"):
            package = line[:-1]
        elif package and line.strip().startswith("Candidate:"):
            value = line.split(":", 1)[1].strip()
            if value != "(none)":
                candidates[package] = value
    archive = any(line.rstrip().endswith(" Packages") for line in text.splitlines())
    return candidates if archive else None

def apt_candidates(argv, packages, timeout):
    try:
        done = subprocess.run(argv + ["policy"] + packages, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env=dict(os.environ, LC_ALL="C"))
    except (OSError, subprocess.SubprocessError):
        return None
    return apt_policy(done.stdout) if done.returncode == 0 else None

def python_fix(p, user, timeout):
    fields = os_release(p["osRelease"])
    name = fields.get("PRETTY_NAME") or " ".join(v for v in (fields.get("NAME") or fields.get("ID"), fields.get("VERSION_ID")) if v)
    version, wanted = p["version"], "python" + p["version"]
    candidates = apt_candidates(p["apt"], ["python3", "python3-venv"] + p["packages"], timeout)
    if candidates is not None:
        have = [pkg for pkg in p["packages"] if pkg in candidates]
        own = major_minor(candidates.get("python3"))
        own_packages = [pkg for pkg in ("python3", "python3-venv") if pkg in candidates]
    else:
        known = known_distribution(fields, p["distributions"])
        own = known["python"] if known else None
        have = list(p["packages"]) if own == version else []
        own_packages = ["python3", "python3-venv"]
    if wanted in have:
        return "sudo apt-get install " + " ".join(have)
    if own == version:
        return "sudo apt-get install " + " ".join(own_packages)
    elsewhere = "install Python %s%s, so that %s is on %s's PATH" % (version, " another way" if own else "", wanted, user)
    if own:
        return "set app.pythonVersion to \"%s\": %s has Python %s, not %s (sudo apt-get install %s); or %s" % (
            own, name or "the server's distribution", own, version, " ".join(own_packages), elsewhere)
    server = "%d.%d" % sys.version_info[:2]
    return "%s (gen knows no package of it for %s), or set app.pythonVersion to \"%s\", the version of the server's python3" % (
        elsewhere, name or "a server without /etc/os-release", server)
