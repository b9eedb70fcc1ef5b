# Writes, installs and restores apply's files as root (src/server/root-files.ts builds its input and reads its
# records). Every folder is reached one component at a time with O_NOFOLLOW, and entries change only through those
# folder descriptors; the install is all or nothing.
import errno, os, signal, stat, sys

FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

class LinkRefused(Exception):
    pass

def quote(text):
    return '"' + "".join(c if " " <= c and c not in '"\\' and not "\ud800" <= c <= "\udfff" else "\\u%04x" % ord(c) for c in text) + '"'

STOP_SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)
INTERRUPTED = 4
CUT_SHORT = 5
# stage: every file was staged, and a settings file failed its compile (a "rejected" record says which).
REJECTED = 6
# Why the install must stop before its last file: a signal's name, or that its session ended.
stopped = []

def stop_on(signum, frame):
    stopped.append(signal.Signals(signum).name)

def record(kind, path, kept=None, message=None):
    extra = "" if kept is None else ',"kept":' + ("true" if kept else "false")
    extra += "" if message is None else ',"message":' + quote(message)
    try:
        sys.stdout.write('{"kind":%s,"path":%s%s}\n' % (quote(kind), quote(path), extra))
        sys.stdout.flush()
    except BrokenPipeError:
        # Nobody reads any more: the session ended. Later output goes nowhere, Python's own flush at exit included.
        nowhere = os.open(os.devnull, os.O_WRONLY)
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

def install(files, root, chown, body):
    for number in STOP_SIGNALS:
        signal.signal(number, stop_on)
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
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
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

def cut_short(got):
    say("gen: %s did nothing: its input was cut short (%d bytes came)\n" % (sys.argv[1], got))
    return CUT_SHORT

def main():
    data = sys.stdin.buffer.read()
    length, _, rest = data.partition(b"\n")
    # All of its input or nothing: a session cut while sending it ends the input early (head -c passes on what came).
    if not length.isdigit() or len(rest) < int(length):
        return cut_short(len(data))
    fields = [field.decode("utf-8", "surrogateescape") for field in rest[:int(length)].split(b"\0")]
    body = rest[int(length):]
    width = int(fields[1])
    files = [fields[i:i + width] for i in range(2, len(fields), width)]
    if any(len(f) != width for f in files) or len(body) != (sum(int(f[6]) for f in files) if sys.argv[1] == "stage" else 0):
        return cut_short(len(data))
    root = os.open(fields[0], os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    operation = {"stage": stage, "install": install, "restore": restore}[sys.argv[1]]
    try:
        # A folder standing in for a server (the sandbox) records owners instead of setting them (sandbox-transport.ts).
        return operation(files, root, os.environ.get("GEN_OWNERS") != "recorded", body) or 0
    except LinkRefused as refused:
        record("link", str(refused))
        return 3
    except OSError as error:
        where = " ".join(part for part in (error.filename, error.filename2) if isinstance(part, str))
        sys.stderr.write("gen: %s failed: %s%s\n" % (sys.argv[1], error.strerror or error, " (" + where + ")" if where else ""))
        return 1

if __name__ == "__main__":
    sys.exit(main())
