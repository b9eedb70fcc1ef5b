// The sudo half of the doctor program (Python 3, standard library only): what `sudo -n -l` lists for the deploy
// user against the commands of the drop-in gen writes, none missing and none more (every sudo rule is a way to root).
// Before the first apply the drop-in is not there yet: its commands are then what apply will install, not a problem,
// while any other command sudo allows still is. Rules that need a password are listed only to someone who gives it
// or who already has a rule without one (sudo's listpw=any): before the drop-in is installed they cannot be seen, so
// membership of the groups the distribution's /etc/sudoers lets run anything is looked at instead.
// It uses record, first_line, whoami and timeout of the program it is part of.
export const SUDO_SCRIPT = String.raw`
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
`;
