# Reads the managed files (probe), writes, installs and restores apply's files as root (src/server/root-files.ts
# builds its input and reads its records). Every folder is reached one component at a time with O_NOFOLLOW, and
# entries change only through those folder descriptors; the install is all or nothing. Only the modules every
# operation needs are imported up front: each import is start-up time of every probe. os is posix here: importing os
# itself (os.path, its abstract base classes) cost 2 ms of every start, and nothing here needs more than posix has.
# The program is sent in parts (the "# section:" lines): the common part, then the probe's or the writing operations'
# part, then main; each start compiles only what its operation runs.
import errno, stat, sys
import posix as os

FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

class LinkRefused(Exception):
    pass

def quote(text):
    return '"' + "".join(c if " " <= c and c not in '"\\' and not "\ud800" <= c <= "\udfff" else "\\u%04x" % ord(c) for c in text) + '"'

INTERRUPTED = 4
CUT_SHORT = 5
# stage: every file was staged, and a settings file failed its compile (a "rejected" record says which).
REJECTED = 6
# Why the install must stop before its last file: a signal's name, or that its session ended.
stopped = []

def record(kind, path, kept=None, message=None):
    extra = "" if kept is None else ',"kept":' + ("true" if kept else "false")
    extra += "" if message is None else ',"message":' + quote(message)
    try:
        sys.stdout.write('{"kind":%s,"path":%s%s}\n' % (quote(kind), quote(path), extra))
        sys.stdout.flush()
    except BrokenPipeError:
        # Nobody reads any more: the session ended. Later output goes nowhere, Python's own flush at exit included.
        nowhere = os.open("/dev/null", os.O_WRONLY)
        os.dup2(nowhere, 1)
        os.dup2(nowhere, 2)
        stopped.append("its session ended")

def say(text):
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except BrokenPipeError:
        pass

def is_link(folder, name):
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False

def open_child(folder, name, shown, create):
    try:
        return os.open(name, FOLDER, dir_fd=folder)
    except FileNotFoundError:
        if not create:
            raise
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR) and is_link(folder, name):
            raise LinkRefused(shown)
        raise
    try:
        os.mkdir(name, 0o755, dir_fd=folder)
    except FileExistsError:
        pass
    return open_child(folder, name, shown, False)

def open_folder(root, path, create=False):
    fd = os.dup(root)
    shown = ""
    try:
        for name in [part for part in path.split("/") if part]:
            shown += "/" + name
            child = open_child(fd, name, shown, create)
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise

def dirname(path):
    return path.rsplit("/", 1)[0] or "/"

def basename(path):
    return path.rsplit("/", 1)[1]

def user_id(name):
    import pwd
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return int(name)

def group_id(name):
    import grp
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return int(name)

def remove_entry(folder, name):
    try:
        os.unlink(name, dir_fd=folder)
    except FileNotFoundError:
        pass

def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]

# section: write
# The stage, install and restore operations.
def stop_signals():
    # _signal, not signal: signal's enums cost 4 ms of the start.
    import _signal
    return {_signal.SIGHUP: "SIGHUP", _signal.SIGTERM: "SIGTERM", _signal.SIGINT: "SIGINT"}

def stop_on(signum, frame):
    stopped.append(stop_signals()[signum])

def copy_xattrs(source, target):
    try:
        names = os.listxattr(source)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(target, name, os.getxattr(source, name))
        except OSError:
            pass

def copy_entry(from_folder, from_name, to_folder, to_name):
    # What cp -a keeps: a link as a link; a file's bytes, owner, mode, extended attributes and times.
    remove_entry(to_folder, to_name)
    info = os.stat(from_name, dir_fd=from_folder, follow_symlinks=False)
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(from_name, dir_fd=from_folder), to_name, dir_fd=to_folder)
        os.chown(to_name, info.st_uid, info.st_gid, dir_fd=to_folder, follow_symlinks=False)
        os.utime(to_name, ns=(info.st_atime_ns, info.st_mtime_ns), dir_fd=to_folder, follow_symlinks=False)
        return
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, "not a regular file or a link", from_name)
    # Without blocking, and checked again once open: a FIFO swapped in after the stat would wait forever.
    source = os.open(from_name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=from_folder)
    try:
        if not stat.S_ISREG(os.fstat(source).st_mode):
            raise OSError(errno.EINVAL, "not a regular file or a link", from_name)
        target = os.open(to_name, NEW_FILE, 0o600, dir_fd=to_folder)
        try:
            while True:
                chunk = os.read(source, 1 << 20)
                if not chunk:
                    break
                write_all(target, chunk)
            os.fchown(target, info.st_uid, info.st_gid)
            os.fchmod(target, stat.S_IMODE(info.st_mode))
            copy_xattrs(source, target)
            os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
        finally:
            os.close(target)
    finally:
        os.close(source)

def python_problem(path, data):
    # What python3 -W error says compiling it (warnings are errors), under its server path; None when it compiles.
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            compile(data, path, "exec")
            return None
        except (SyntaxError, ValueError, Warning) as error:
            import traceback
            return "".join(traceback.format_exception_only(type(error), error))

def stage(files, root, chown, body):
    offset = 0
    rejected = 0
    for path, staged, mode, owner, group, link, size, check in files:
        folder = open_folder(root, dirname(path), create=True)
        try:
            if check == "folder":
                make_folder(folder, path, int(mode, 8))
                continue
            remove_entry(folder, staged)
            if link:
                os.symlink(link, staged, dir_fd=folder)
                continue
            data = body[offset:offset + int(size)]
            fd = os.open(staged, NEW_FILE, 0o600, dir_fd=folder)
            try:
                write_all(fd, data)
                if chown:
                    os.fchown(fd, user_id(owner), group_id(group))
                os.fchmod(fd, int(mode, 8))
            finally:
                os.close(fd)
            offset += int(size)
            problem = python_problem(path, data) if check == "python" else None
            if problem is not None:
                record("rejected", path, message=problem)
                rejected = REJECTED
        finally:
            os.close(folder)
    return rejected

def make_folder(parent, path, mode):
    # A folder of the stage op's (apply's incoming folder), root's with `mode`, as install -d makes it.
    try:
        os.mkdir(basename(path), mode, dir_fd=parent)
    except FileExistsError:
        pass
    fd = open_child(parent, basename(path), path, False)
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)

def install(files, root, chown, body):
    import _signal
    for number in stop_signals():
        _signal.signal(number, stop_on)
    moved = []
    for index, (path, staged, backup) in enumerate(files):
        if stopped:
            return put_back(root, moved, files[index:])
        name = basename(path)
        folder = open_folder(root, dirname(path))
        try:
            kept = False
            try:
                os.stat(name, dir_fd=folder, follow_symlinks=False)
                exists = True
            except FileNotFoundError:
                exists = False
            if exists:
                backups = open_folder(root, dirname(backup), create=True)
                try:
                    copy_entry(folder, name, backups, basename(backup))
                finally:
                    os.close(backups)
                kept = True
            os.rename(staged, name, src_dir_fd=folder, dst_dir_fd=folder)
            moved.append([path, backup if kept else ""])
            record("moved", path, kept)
        finally:
            os.close(folder)
    return 0

def put_back(root, moved, unmoved):
    say("gen: install stopped (%s) after %d of %d files: putting them back\n" % (stopped[0], len(moved), len(moved) + len(unmoved)))
    restore(moved[::-1], root, False, b"")
    # The staged files that did not move go too (else the next apply's clean-up removes them).
    for path, staged, backup in unmoved:
        try:
            folder = open_folder(root, dirname(path))
            try:
                remove_entry(folder, staged)
            finally:
                os.close(folder)
        except (OSError, LinkRefused):
            pass
    return INTERRUPTED

def restore(files, root, chown, body):
    import _signal
    for number in stop_signals():
        _signal.signal(number, _signal.SIG_IGN)
    failed = 0
    for path, backup in files:
        name = basename(path)
        try:
            folder = open_folder(root, dirname(path))
            try:
                if not backup:
                    remove_entry(folder, name)
                    record("removed", path)
                    continue
                backups = open_folder(root, dirname(backup))
                try:
                    copy_entry(backups, basename(backup), folder, ".gen-restore." + name)
                finally:
                    os.close(backups)
                os.rename(".gen-restore." + name, name, src_dir_fd=folder, dst_dir_fd=folder)
                record("restored", path)
            finally:
                os.close(folder)
        except LinkRefused as refused:
            record("link", str(refused))
            failed = 1
        except OSError as error:
            say("gen: restoring %s: %s\n" % (path, error.strerror or error))
            failed = 1
    return failed

# section: probe
# The probe: what a plan needs of each path, read as root (or as the deploy user) without following a link anywhere
# on the way, without blocking on a FIFO or device and within given sizes; src/plan/server-probe.ts reads its records.
# Each row: "entry" (type, mode, owner, group; a regular file's size and sha256, and its content when it differs from
# the sha256 given and is at most the size given), "read" (a small file such as gen's record: at most the size given),
# "folder" (whether it is a folder, following links as the shell's test -d does: the lock).
TEXT_ESCAPES = {code: "\\u%04x" % code for code in range(32)}
TEXT_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\"})

def text(data):
    # A JSON string of bytes read from the server: invalid UTF-8 becomes U+FFFD, as the reader would make of it.
    return '"' + data.decode("utf-8", "replace").translate(TEXT_ESCAPES) + '"'

def say_found(kind, path, **fields):
    # `fields`: each value already JSON (quote, text, a number's str).
    parts = ['"kind":' + quote(kind), '"path":' + quote(path)] + ['"%s":%s' % field for field in fields.items()]
    sys.stdout.write("{" + ",".join(parts) + "}\n")
    remember_fact(kind, path, fields)

# The digest (a "digest" row): the sha256 of what the probe found before that row, as apply's plan depends on it
# (type, mode, owner, sha256 of each path; gen's record whole), not the content sent for a diff. Given the digest of
# the read the operator reviewed, the probe fails (DRIFTED) when they differ, so the steps chained after it (apply's
# install) do not run; its records are printed all the same, for the plan to be made again from them.
DRIFTED = 7
FACTS = []

def remember_fact(kind, path, fields):
    shown = kind == "file" and "content"
    FACTS.append("\0".join([kind, path] + ["%s=%s" % field for field in fields.items() if field[0] != shown]))

def probe_digest(expected):
    digest = sha256()
    for fact in FACTS:
        digest.update(fact.encode("utf-8", "surrogateescape") + b"\n")
    found = digest.hexdigest()
    say_found("digest", "", sha256=quote(found))
    return DRIFTED if expected and found != expected else 0

def sha256():
    try:
        from _sha256 import sha256 as made
    except ImportError:
        try:
            from _sha2 import sha256 as made
        except ImportError:
            from hashlib import sha256 as made
    return made()

NAMES = {}

def name_of(table, number):
    key = (table, number)
    if key not in NAMES:
        import grp, pwd
        try:
            NAMES[key] = pwd.getpwuid(number).pw_name if table == "user" else grp.getgrgid(number).gr_name
        except KeyError:
            NAMES[key] = str(number)
    return NAMES[key]

# Why a path could not be read: gen_read's statuses (src/server/safe-read.ts READ_*), or the system's own words.
LINK_ON_THE_WAY = 41
NOT_REGULAR = 42
DENIED = 43

def open_parent(root, path):
    """The folder of `path` as a descriptor, or why not: "missing", a status, or the system's words."""
    if root is None:
        return None, "missing"
    try:
        return open_folder(root, dirname(path)), None
    except LinkRefused as refused:
        return None, (LINK_ON_THE_WAY, str(refused))
    except (FileNotFoundError, NotADirectoryError):
        return None, "missing"
    except PermissionError:
        return None, DENIED
    except OSError as error:
        return None, error.strerror or str(error)

def read_regular(folder, name, limit, digest=None):
    """Up to `limit` bytes of a regular file that is no link, opened without blocking; all of it through `digest`."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None, 0
        kept, size = [], 0
        while True:
            want = 1 << 20 if digest is not None else min(1 << 20, limit - size)
            chunk = os.read(fd, want) if want > 0 else b""
            if not chunk:
                return b"".join(kept), size
            if size < limit:
                kept.append(chunk[:limit - size])
            size += len(chunk)
            if digest is not None:
                digest.update(chunk)
    finally:
        os.close(fd)

def unreadable(path, why):
    if why == "missing":
        say_found("missing", path)
    elif isinstance(why, tuple):
        say_found("unreadable", path, reason=str(why[0]), link=quote(why[1]))
    else:
        say_found("unreadable", path, reason=str(why) if isinstance(why, int) else quote(why))

def probe_entry(root, path, expected, limit):
    folder, why = open_parent(root, path)
    if folder is None:
        return unreadable(path, why)
    try:
        name = basename(path)
        info = os.stat(name, dir_fd=folder, follow_symlinks=False)
        mode = stat.S_IMODE(info.st_mode)
        found = {"mode": quote("%04o" % mode), "owner": quote(name_of("user", info.st_uid)), "group": quote(name_of("group", info.st_gid))}
        if stat.S_ISLNK(info.st_mode):
            return say_found("symlink", path, target=quote(os.readlink(name, dir_fd=folder)), **found)
        if not stat.S_ISREG(info.st_mode):
            return say_found("directory" if stat.S_ISDIR(info.st_mode) else "other", path, **found)
        digest = sha256()
        content, size = read_regular(folder, name, limit + 1 if expected else 0, digest)
        if content is None:
            return unreadable(path, NOT_REGULAR)
        hashed = digest.hexdigest()
        shown = {"content": text(content)} if expected and hashed != expected and size <= limit else {}
        say_found("file", path, size=str(size), sha256=quote(hashed), **found, **shown)
    except FileNotFoundError:
        unreadable(path, "missing")
    except OSError as error:
        unreadable(path, DENIED if isinstance(error, PermissionError) else error.strerror or str(error))
    finally:
        os.close(folder)

def probe_read(root, path, limit):
    folder, why = open_parent(root, path)
    if folder is None:
        status = 40 if why == "missing" else why[0] if isinstance(why, tuple) else why if isinstance(why, int) else 1
        return say_found("read", path, status=str(status))
    try:
        content, size = read_regular(folder, basename(path), limit)
        if content is None:
            return say_found("read", path, status=str(NOT_REGULAR))
        say_found("read", path, status="0", size=str(size), content=text(content))
    except FileNotFoundError:
        say_found("read", path, status="40")
    except OSError as error:
        status = LINK_ON_THE_WAY if error.errno == errno.ELOOP else DENIED if isinstance(error, PermissionError) else 1
        say_found("read", path, status=str(status))
    finally:
        os.close(folder)

def probe(files, root, chown, body):
    status = 0
    del FACTS[:]
    for kind, path, expected, limit in files:
        if kind == "entry":
            probe_entry(root, path, expected, int(limit))
        elif kind == "read":
            probe_read(root, path, int(limit))
        elif kind == "digest":
            status = probe_digest(expected)
        else:
            try:
                is_folder = root is not None and stat.S_ISDIR(os.stat(path.lstrip("/") or ".", dir_fd=root).st_mode)
            except OSError:
                is_folder = False
            say_found("folder", path, found="true" if is_folder else "false")
    sys.stdout.flush()
    return status

# section: lock
# The probe under apply's lock (locked-probe), which takes that lock first, as lock.sh's gen_root_state and gen_take_lock
# take it, with the same folders, owners, modes, refusals and records (src/server/lock.ts reads them): one process
# where the shell's needed a stat and a mkdir. Its statuses, lock.sh's: held, mkdir failed, a link refused.
HELD = 42
LOCK_FAILED = 43
LOCK_LINK = 44
# HOLDER_LIMIT of src/server/lock-holder.ts: a held lock's holder.json is read up to this size.
HOLDER_LIMIT = 4096

def lock_record(kind, **fields):
    # `fields`: each value already JSON.
    sys.stdout.write("{" + ",".join(['"kind":' + quote(kind)] + ['"%s":%s' % field for field in fields.items()]) + "}\n")

def take_lock(root, state, holder, group):
    """gen_root_state, then gen_take_lock: one record, and 0 (taken), HELD, LOCK_FAILED or LOCK_LINK."""
    try:
        if root is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), "/")
        locks = root_state(root, state, group)
    except LinkRefused as refused:
        lock_record("link", path=quote(str(refused)))
        return LOCK_LINK
    except OSError as error:
        lock_record("failed", reason=quote(error.strerror or str(error)))
        return LOCK_FAILED
    try:
        return lock_in(root, locks, state, holder)
    finally:
        os.close(locks)

def root_state(root, state, group):
    """STATE made root's 0755 and STATE/locks root:GROUP sticky 1770, missing ones made; a state folder another user
    owned is taken back, and refused if it holds a link (its entries' and theirs). The locks folder's descriptor."""
    try:
        folder, new = open_folder(root, state), False
    except FileNotFoundError:
        folder, new = open_folder(root, state, create=True), True
    try:
        owner = os.fstat(folder)
        if (owner.st_uid, stat.S_IMODE(owner.st_mode)) != (0, 0o755):
            set_owner(folder, 0, 0, 0o755)
        if owner.st_uid != 0 and not new:
            refuse_links_in(folder, state)
        locks = open_child(folder, "locks", state + "/locks", True)
    finally:
        os.close(folder)
    try:
        gid = group_id(group)
        held = os.fstat(locks)
        if (held.st_uid, held.st_gid, stat.S_IMODE(held.st_mode)) != (0, gid, 0o1770):
            set_owner(locks, 0, gid, 0o1770)
    except ValueError:
        # No such group: lock.sh's chown fails and the folder is left as it is.
        pass
    return locks

def set_owner(fd, uid, gid, mode):
    # Without root the change fails and is skipped, as lock.sh's chown and chmod are.
    try:
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    except OSError:
        pass

def refuse_links_in(folder, shown):
    """LinkRefused for a link among the folder's entries or their entries (the shell's * and */*: no dot files)."""
    names = visible(folder)
    for name in names:
        if is_link(folder, name):
            raise LinkRefused(shown + "/" + name)
    for name in names:
        try:
            child = os.open(name, FOLDER, dir_fd=folder)
        except OSError:
            continue
        try:
            for inner in visible(child):
                if is_link(child, inner):
                    raise LinkRefused("%s/%s/%s" % (shown, name, inner))
        finally:
            os.close(child)

def visible(folder):
    return sorted(name for name in os.listdir(folder) if not name.startswith("."))

def lock_in(root, locks, state, holder):
    """gen_take_lock: STATE/locks/lock made (taken, holder.json written), or held (by what its holder.json says), or
    why not."""
    try:
        os.mkdir("lock", dir_fd=locks)
    except OSError as error:
        # Held: a folder is there (a link to one too, as the shell's test -d finds it).
        if error.errno == errno.EEXIST and leads_to_folder(locks, "lock"):
            lock_record("held", holder=text(held_by(root, state)))
            return HELD
        lock_record("failed", reason=quote(error.strerror or str(error)))
        return LOCK_FAILED
    try:
        lock = os.open("lock", FOLDER, dir_fd=locks)
        try:
            fd = os.open("holder.json", NEW_FILE, 0o666, dir_fd=lock)
            try:
                write_all(fd, holder.encode("utf-8", "surrogateescape") + b"\n")
            finally:
                os.close(fd)
        finally:
            os.close(lock)
    except OSError:
        # The lock is taken all the same (the folder is the lock); its holder only names who took it.
        pass
    lock_record("taken")
    return 0

def leads_to_folder(folder, name):
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=folder).st_mode)
    except OSError:
        return False

def held_by(root, state):
    """A held lock's holder.json, read as safe-read.sh reads it (no link anywhere on the way, no FIFO, at most
    HOLDER_LIMIT bytes); empty when it cannot be read so."""
    folder, why = open_parent(root, state + "/locks/lock/holder.json")
    if folder is None:
        return b""
    try:
        content, _ = read_regular(folder, "holder.json", HOLDER_LIMIT)
        return content or b""
    except OSError:
        return b""
    finally:
        os.close(folder)

def say_account(table, name):
    # Whether the user or group exists, as getent finds it: through the system's name service.
    try:
        if table == "user":
            import pwd
            pwd.getpwnam(name)
        else:
            import grp
            grp.getgrnam(name)
        found = True
    except KeyError:
        found = False
    say_found(table, name, found="true" if found else "false")
    return found

def locked_probe(files, root, chown, body):
    """Its first row the lock to take (state folder, holder, group); once taken, whether each account of the "user"
    and "group" rows exists (preflight's check), and the probe of the other rows. An account row marked "1" is one the
    steps chained after the probe take as there (a reviewed plan's preflight, sent with it): on a server, its absence
    fails the probe as a drift does (DRIFTED), so they do not run. A folder standing in for a server (no chown) records
    owners and has no accounts to need."""
    _, state, holder, group = files[0]
    status = take_lock(root, state, holder, group)
    if status:
        return status
    missing = False
    for kind, name, needed, _ in files[1:]:
        if kind in ("user", "group"):
            found = say_account(kind, name)
            missing = missing or (needed == "1" and not found and chown)
    status = probe([row for row in files[1:] if row[0] not in ("user", "group")], root, chown, body)
    return status or (DRIFTED if missing else 0)

# section: main
# Every start: its input read, then its operation.
def cut_short(operation, got):
    say("gen: %s did nothing: its input was cut short (%d bytes came)\n" % (operation, got))
    return CUT_SHORT

def read_exact(size, read=lambda n: os.read(0, n)):
    # At most `size` bytes of standard input, which is the session's own stream: never a byte past them (a buffered
    # read would take the next step's), fewer only when the input ended.
    parts = []
    while size > 0:
        part = read(min(size, 1 << 20))
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)

def make_path(path):
    parts = path.split("/")
    for end in range(1, len(parts) + 1):
        try:
            os.mkdir("/".join(parts[:end]) or "/")
        except FileExistsError:
            pass

def main(read=None):
    # argv: -c, the program's size (the start-up read it), the input's size, the operation.
    size, operation = int(sys.argv[2]), sys.argv[3]
    data = read_exact(size, read) if read else read_exact(size)
    length, _, rest = data.partition(b"\n")
    # All of its input or nothing: a session cut while sending it ends the input early.
    if len(data) < size or not length.isdigit() or len(rest) < int(length):
        return cut_short(operation, len(data))
    fields = [field.decode("utf-8", "surrogateescape") for field in rest[:int(length)].split(b"\0")]
    body = rest[int(length):]
    width = int(fields[1])
    files = [fields[i:i + width] for i in range(2, len(fields), width)]
    if any(len(f) != width for f in files) or len(body) != (sum(int(f[6]) for f in files) if operation == "stage" else 0):
        return cut_short(operation, len(data))
    if operation == "locked-probe":
        # A folder standing in for a server gets its lock before its first apply too, as lock.sh's mkdir -p made it.
        make_path(fields[0])
    try:
        root = os.open(fields[0], os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        # A folder standing in for a server before its first apply: the probe finds nothing there.
        if operation != "probe":
            raise
        root = None
    if operation not in ("probe", "locked-probe", "stage", "install", "restore"):
        raise SystemExit("gen: no such operation: " + operation)
    # By name: the program holds only its operation's part.
    run = globals()[operation.replace("-", "_")]
    try:
        # A folder standing in for a server (the sandbox) records owners instead of setting them (sandbox-transport.ts).
        return run(files, root, os.environ.get(b"GEN_OWNERS") != b"recorded", body) or 0
    except LinkRefused as refused:
        record("link", str(refused))
        return 3
    except OSError as error:
        where = " ".join(part for part in (error.filename, error.filename2) if isinstance(part, str))
        sys.stderr.write("gen: %s failed: %s%s\n" % (operation, error.strerror or error, " (" + where + ")" if where else ""))
        return 1

if __name__ == "__main__":
    sys.exit(main())
