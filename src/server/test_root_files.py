# The root files program's own logic, in a temp folder standing for the server's "/" (owners are left alone: the
# program sets them only when told to, and src/server/root-files.test.ts runs it as root through the transport): its
# walk of a path one folder at a time that refuses a link anywhere on the way, the all-or-nothing install that puts
# back what it moved when a signal stops it, the restore that goes on past a file it cannot put back, and the input
# it refuses when it was cut short.
import contextlib, io, os, shutil, signal, stat, sys, tempfile, unittest
from unittest import mock

import root_files

STOP_SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)


class Server(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="gen-root-files-")
        self.addCleanup(shutil.rmtree, self.root)
        self.fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        self.addCleanup(os.close, self.fd)
        # install and restore set the stop signals' handlers, as the program they run in may.
        handlers = {number: signal.getsignal(number) for number in STOP_SIGNALS}
        self.addCleanup(lambda: [signal.signal(number, handler) for number, handler in handlers.items()])
        root_files.stopped.clear()
        self.addCleanup(root_files.stopped.clear)
        self.out, self.err = io.StringIO(), io.StringIO()
        for redirect in (contextlib.redirect_stdout(self.out), contextlib.redirect_stderr(self.err)):
            self.enterContext(redirect)

    def at(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def write(self, path, text, mode=0o644):
        os.makedirs(os.path.dirname(self.at(path)), exist_ok=True)
        with open(self.at(path), "w") as f:
            f.write(text)
        os.chmod(self.at(path), mode)

    def read(self, path):
        with open(self.at(path)) as f:
            return f.read()

    def records(self):
        return [line for line in self.out.getvalue().splitlines() if line]


class Walk(Server):
    def test_opens_a_folder_one_component_at_a_time_and_creates_the_missing_ones(self):
        fd = root_files.open_folder(self.fd, "/etc/new/deeper", create=True)
        try:
            self.assertEqual(os.path.realpath("/proc/self/fd/%d" % fd), os.path.realpath(self.at("/etc/new/deeper")))
        finally:
            os.close(fd)
        self.assertEqual(stat.S_IMODE(os.stat(self.at("/etc/new")).st_mode) & 0o755, 0o755)

    def test_refuses_a_link_anywhere_on_the_way_naming_it_as_a_server_path(self):
        os.makedirs(self.at("/elsewhere/inner"))
        os.makedirs(self.at("/srv"))
        os.symlink(self.at("/elsewhere"), self.at("/srv/site"))
        for create in (False, True):
            with self.assertRaises(root_files.LinkRefused) as refused:
                root_files.open_folder(self.fd, "/srv/site/inner", create=create)
            self.assertEqual(str(refused.exception), "/srv/site")
        self.assertEqual(os.listdir(self.at("/elsewhere")), ["inner"])

    def test_a_missing_folder_is_an_error_unless_it_may_create_it(self):
        with self.assertRaises(FileNotFoundError):
            root_files.open_folder(self.fd, "/nothing/here")

    def test_a_file_on_the_way_is_no_link_but_an_error(self):
        self.write("/etc/file", "")
        with self.assertRaises(NotADirectoryError):
            root_files.open_folder(self.fd, "/etc/file/below")

    def test_quotes_any_path_as_a_json_string(self):
        self.assertEqual(root_files.quote('a "b" \\ \n\x7f é \udcff'), '"a \\u0022b\\u0022 \\u005c \\u000a\x7f é \\udcff"')


def staged(path, text, mode="0644", check=""):
    return [path, ".gen-stage.1." + os.path.basename(path), mode, "root", "root", "", str(len(text.encode())), check]


class Stage(Server):
    def test_writes_each_file_beside_its_target_with_its_mode_and_a_link_as_a_link(self):
        rows = [staged("/etc/a/one.conf", "one\n", "0640"), ["/etc/b/link", ".gen-stage.1.link", "0777", "root", "root", "../a/one.conf", "0", ""]]
        root_files.stage(rows, self.fd, False, b"one\n")
        self.assertEqual(self.read("/etc/a/.gen-stage.1.one.conf"), "one\n")
        self.assertEqual(stat.S_IMODE(os.stat(self.at("/etc/a/.gen-stage.1.one.conf")).st_mode), 0o640)
        self.assertEqual(os.readlink(self.at("/etc/b/.gen-stage.1.link")), "../a/one.conf")

    def test_a_python_file_that_does_not_compile_is_rejected_in_pythons_words(self):
        source = "DEBUG = '\\d'\nX = (\n"
        root_files.stage([staged("/srv/settings_local.py", source, check="python")], self.fd, False, source.encode())
        [line] = self.records()
        self.assertRegex(line, r'^\{"kind":"rejected","path":"/srv/settings_local.py","message":".*(Syntax|Deprecation)(Warning|Error)')


class Install(Server):
    def prepare(self, names):
        """Files at /etc/app/<name> (old versions of all but the first), staged new versions beside them."""
        rows = []
        for index, name in enumerate(names):
            path = "/etc/app/" + name
            if index > 0:
                self.write(path, "old " + name, 0o600)
            self.write("/etc/app/.gen-stage.7." + name, "new " + name)
            rows.append([path, ".gen-stage.7." + name, "/var/lib/gen/backups/7" + path])
        return rows

    def test_moves_each_file_keeping_the_previous_version_with_its_mode_and_times(self):
        rows = self.prepare(["new.conf", "old.conf"])
        os.utime(self.at("/etc/app/old.conf"), (1_000_000, 2_000_000))
        self.assertEqual(root_files.install(rows, self.fd, False, b""), 0)
        self.assertEqual((self.read("/etc/app/new.conf"), self.read("/etc/app/old.conf")), ("new new.conf", "new old.conf"))
        backup = self.at("/var/lib/gen/backups/7/etc/app/old.conf")
        self.assertEqual(self.read("/var/lib/gen/backups/7/etc/app/old.conf"), "old old.conf")
        self.assertEqual((stat.S_IMODE(os.stat(backup).st_mode), os.stat(backup).st_mtime), (0o600, 2_000_000))
        self.assertFalse(os.path.exists(self.at("/var/lib/gen/backups/7/etc/app/new.conf")))
        self.assertEqual(self.records(), ['{"kind":"moved","path":"/etc/app/new.conf","kept":false}', '{"kind":"moved","path":"/etc/app/old.conf","kept":true}'])

    def test_a_signal_before_the_last_file_puts_back_what_moved_newest_first_and_removes_the_rest(self):
        rows = self.prepare(["new.conf", "one.conf", "two.conf", "three.conf"])
        moved = []

        def record(kind, path, kept=None, message=None):
            moved.append((kind, path))
            if len(moved) == 2:
                os.kill(os.getpid(), signal.SIGTERM)
        with mock.patch.object(root_files, "record", record):
            self.assertEqual(root_files.install(rows, self.fd, False, b""), root_files.INTERRUPTED)
        self.assertEqual(moved, [("moved", "/etc/app/new.conf"), ("moved", "/etc/app/one.conf"), ("restored", "/etc/app/one.conf"), ("removed", "/etc/app/new.conf")])
        self.assertEqual(sorted(os.listdir(self.at("/etc/app"))), ["one.conf", "three.conf", "two.conf"])
        self.assertEqual([self.read("/etc/app/" + n) for n in ("one.conf", "two.conf", "three.conf")], ["old one.conf", "old two.conf", "old three.conf"])
        self.assertEqual(self.err.getvalue(), "gen: install stopped (SIGTERM) after 2 of 4 files: putting them back\n")

    def test_refuses_a_folder_swapped_for_a_link_after_staging(self):
        rows = self.prepare(["new.conf"])
        os.rename(self.at("/etc/app"), self.at("/etc/moved"))
        os.symlink(self.at("/etc/moved"), self.at("/etc/app"))
        with self.assertRaises(root_files.LinkRefused):
            root_files.install(rows, self.fd, False, b"")
        self.assertEqual(sorted(os.listdir(self.at("/etc/moved"))), [".gen-stage.7.new.conf"])


class Restore(Server):
    def test_puts_back_each_file_removes_new_ones_and_goes_on_past_one_it_cannot_restore(self):
        self.write("/etc/app/kept.conf", "new")
        self.write("/var/backup/etc/app/kept.conf", "old")
        self.write("/etc/app/lost.conf", "new")
        self.write("/etc/app/created.conf", "new")
        rows = [["/etc/app/lost.conf", "/var/backup/etc/app/lost.conf"], ["/etc/app/kept.conf", "/var/backup/etc/app/kept.conf"], ["/etc/app/created.conf", ""]]
        self.assertEqual(root_files.restore(rows, self.fd, False, b""), 1)
        self.assertEqual(self.read("/etc/app/kept.conf"), "old")
        self.assertEqual(self.read("/etc/app/lost.conf"), "new")
        self.assertFalse(os.path.exists(self.at("/etc/app/created.conf")))
        self.assertEqual(self.records(), ['{"kind":"restored","path":"/etc/app/kept.conf"}', '{"kind":"removed","path":"/etc/app/created.conf"}'])
        self.assertRegex(self.err.getvalue(), r"^gen: restoring /etc/app/lost.conf: No such file or directory\n$")

    def test_ignores_the_stop_signals_while_it_puts_files_back(self):
        root_files.restore([], self.fd, False, b"")
        self.assertEqual([signal.getsignal(number) for number in STOP_SIGNALS], [signal.SIG_IGN] * 3)


class Input(Server):
    def run_main(self, operation, data, environ=None, size=None, stream=None):
        # As the session runs it: the input's size on the command line, the bytes read from the session's stream.
        stream = stream or io.BytesIO(data)
        argv = ["-c", "0", str(len(data) if size is None else size), operation]
        environ = {name.encode(): value.encode() for name, value in (environ or {}).items()}
        with mock.patch.object(sys, "argv", argv), mock.patch.dict(root_files.os.environ, environ):
            return root_files.main(read=stream.read)

    def header(self, fields, body=b""):
        header = "\0".join(fields).encode()
        return b"%d\n" % len(header) + header + body

    def test_stages_from_its_input(self):
        fields = [self.root, "8"] + staged("/etc/x.conf", "x\n")
        self.assertEqual(self.run_main("stage", self.header(fields, b"x\n")), 0)
        self.assertEqual(self.read("/etc/.gen-stage.1.x.conf"), "x\n")

    def test_sets_owners_unless_its_host_records_them(self):
        fields = [self.root, "8"] + staged("/etc/x.conf", "x\n")
        with mock.patch.object(root_files.os, "fchown") as fchown:
            self.assertEqual(self.run_main("stage", self.header(fields, b"x\n"), {"GEN_OWNERS": "recorded"}), 0)
            fchown.assert_not_called()
            self.assertEqual(self.run_main("stage", self.header(fields, b"x\n")), 0)
            fchown.assert_called_once()

    def test_does_nothing_with_input_cut_short(self):
        fields = [self.root, "8"] + staged("/etc/x.conf", "x\n")
        whole = self.header(fields, b"x\n")
        for cut in (whole[:-1], whole[:len(whole) // 2], b"12", b""):
            self.assertEqual(self.run_main("stage", cut, size=len(whole)), root_files.CUT_SHORT)
        self.assertEqual(os.listdir(self.root), [])
        self.assertRegex(self.err.getvalue(), r"^gen: stage did nothing: its input was cut short \(\d+ bytes came\)\n")

    def test_reads_no_byte_past_its_input(self):
        # The session's next frame follows the input on the same stream: it must stay there for the session's shell.
        fields = [self.root, "8"] + staged("/etc/x.conf", "x\n")
        whole = self.header(fields, b"x\n")
        stream = io.BytesIO(whole + b"\ngen-token I 7\n")
        self.assertEqual(self.run_main("stage", whole, stream=stream), 0)
        self.assertEqual(stream.read(), b"\ngen-token I 7\n")

    def test_a_row_short_of_fields_is_input_cut_short(self):
        fields = [self.root, "3", "/etc/a", ".gen-stage.1.a", "/b/a", "/etc/b"]
        self.assertEqual(self.run_main("install", self.header(fields)), root_files.CUT_SHORT)


class Probe(Server):
    def probe(self, *rows):
        self.out.seek(0)
        self.out.truncate()
        root_files.probe([list(row) for row in rows], self.fd, False, b"")
        import json
        return [json.loads(line) for line in self.records()]

    def entry(self, path, expected="", limit=100):
        return self.probe(("entry", path, expected, str(limit)))[0]

    def test_a_file_its_metadata_and_hash_and_its_content_only_when_it_differs(self):
        self.write("/etc/a.conf", "server\n", 0o640)
        other = "0" * 64
        found = self.entry("/etc/a.conf")
        self.assertEqual((found["kind"], found["mode"], found["size"], found["owner"]), ("file", "0640", 7, root_files.name_of("user", os.getuid())))
        import hashlib
        self.assertEqual(found["sha256"], hashlib.sha256(b"server\n").hexdigest())
        self.assertNotIn("content", found)
        self.assertEqual(self.entry("/etc/a.conf", other)["content"], "server\n")
        self.assertNotIn("content", self.entry("/etc/a.conf", found["sha256"]))
        # Larger than the limit: compared by its hash, not sent.
        self.assertNotIn("content", self.entry("/etc/a.conf", other, limit=6))

    def test_content_is_json_whatever_its_bytes(self):
        with open(self.at("/bytes"), "wb") as f:
            f.write(b'\x1b[31m"\\\xff\n')
        import json
        content = self.entry("/bytes", "0" * 64)["content"]
        self.assertEqual(content, '\x1b[31m"\\\ufffd\n')
        self.assertNotIn("\x1b", self.out.getvalue())
        self.assertEqual(len(self.out.getvalue().splitlines()), 1)
        json.loads(self.out.getvalue())

    def test_never_follows_a_link_on_the_way_or_as_the_file_and_never_opens_a_fifo_or_device(self):
        os.makedirs(self.at("/secret"))
        self.write("/secret/key", "root's\n", 0o600)
        os.makedirs(self.at("/home/deploy"))
        os.symlink(self.at("/secret"), self.at("/home/deploy/config"))
        os.symlink(self.at("/secret/key"), self.at("/home/deploy/settings.py"))
        os.mkfifo(self.at("/home/deploy/fifo"))
        os.symlink("/dev/zero", self.at("/home/deploy/zero"))
        on_the_way = self.entry("/home/deploy/config/key", "0" * 64)
        self.assertEqual(on_the_way, {"kind": "unreadable", "path": "/home/deploy/config/key", "reason": root_files.LINK_ON_THE_WAY, "link": "/home/deploy/config"})
        link = self.entry("/home/deploy/settings.py", "0" * 64)
        self.assertEqual((link["kind"], link["target"]), ("symlink", self.at("/secret/key")))
        self.assertEqual(self.entry("/home/deploy/fifo", "0" * 64)["kind"], "other")
        self.assertEqual(self.entry("/home/deploy/zero", "0" * 64)["kind"], "symlink")
        self.assertEqual(self.entry("/home/deploy/none")["kind"], "missing")
        self.assertEqual(self.entry("/nowhere/at/all")["kind"], "missing")
        self.assertNotIn("root's", self.out.getvalue())

    def test_a_root_that_is_not_there_yet_holds_nothing(self):
        # A folder standing in for a server before its first apply.
        fields = [self.at("/not-made-yet"), "4", "entry", "/etc/a", "", "0", "read", "/state/applied.json", "", "10", "folder", "/state/lock", "", "0"]
        header = "\0".join(fields).encode()
        data = b"%d\n" % len(header) + header
        with mock.patch.object(sys, "argv", ["-c", "0", str(len(data)), "probe"]):
            self.assertEqual(root_files.main(read=io.BytesIO(data).read), 0)
        import json
        self.assertEqual([json.loads(line) for line in self.records()], [
            {"kind": "missing", "path": "/etc/a"},
            {"kind": "read", "path": "/state/applied.json", "status": 40},
            {"kind": "folder", "path": "/state/lock", "found": False},
        ])

    def test_a_fifo_swapped_in_after_the_look_is_not_read(self):
        os.mkfifo(self.at("/fifo"))
        folder = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        self.addCleanup(os.close, folder)
        # Opened without blocking, and refused once open: no writer ever comes.
        self.assertEqual(root_files.read_regular(folder, "fifo", 10), (None, 0))

    def test_reads_a_small_file_up_to_its_limit_and_the_lock_folder_as_the_shell_would(self):
        self.write("/state/applied.json", "0123456789")
        os.makedirs(self.at("/state/locks"))
        os.symlink(self.at("/secret-folder"), self.at("/state/locks/lock"))
        os.makedirs(self.at("/secret-folder"))
        self.write("/secret-folder/holder.json", "root's\n")
        found = self.probe(("read", "/state/applied.json", "", "4"), ("folder", "/state/locks/lock", "", "0"),
                           ("read", "/state/locks/lock/holder.json", "", "100"), ("read", "/state/none", "", "4"))
        self.assertEqual(found[0], {"kind": "read", "path": "/state/applied.json", "status": 0, "size": 4, "content": "0123"})
        self.assertEqual(found[1], {"kind": "folder", "path": "/state/locks/lock", "found": True})
        self.assertEqual(found[2], {"kind": "read", "path": "/state/locks/lock/holder.json", "status": root_files.LINK_ON_THE_WAY})
        self.assertEqual(found[3], {"kind": "read", "path": "/state/none", "status": 40})

    def digest(self, expected=""):
        rows = [("entry", "/etc/a.conf", "0" * 64, "100"), ("entry", "/etc/b", "", "0"), ("read", "/state/applied.json", "", "100"),
                ("digest", "", expected, "0"), ("folder", "/state/locks/lock", "", "0")]
        self.out.seek(0)
        self.out.truncate()
        status = root_files.probe([list(row) for row in rows], self.fd, False, b"")
        import json
        return status, [json.loads(line) for line in self.records()]

    def test_a_digest_of_what_the_plan_depends_on_failing_the_probe_when_it_differs_from_the_one_given(self):
        self.write("/etc/a.conf", "server\n", 0o640)
        self.write("/state/applied.json", '{"files": {}}')
        status, found = self.digest()
        self.assertEqual(status, 0)
        first = found[3]["sha256"]
        self.assertEqual((found[3]["kind"], len(first)), ("digest", 64))
        # The content sent for a diff and the lock after the digest's row are not in it: taking one's own lock is no drift.
        os.makedirs(self.at("/state/locks/lock"))
        self.assertEqual(self.digest(first), (0, found[:4] + [{"kind": "folder", "path": "/state/locks/lock", "found": True}]))
        # Each fact the plan is made from changes it: the probe then prints all it found, and fails.
        for change in [lambda: os.chmod(self.at("/etc/a.conf"), 0o600), lambda: self.write("/etc/a.conf", "edited\n", 0o600),
                       lambda: self.write("/etc/b", ""), lambda: self.write("/state/applied.json", '{"files": {"/etc/b": "x"}}')]:
            change()
            status, now = self.digest(first)
            self.assertEqual(status, root_files.DRIFTED)
            self.assertEqual([r["kind"] for r in now], ["file", "file" if os.path.exists(self.at("/etc/b")) else "missing", "read", "digest", "folder"])
            self.assertNotEqual(now[3]["sha256"], first)
            status, again = self.digest(now[3]["sha256"])
            self.assertEqual((status, again[3]["sha256"]), (0, now[3]["sha256"]))
            first = now[3]["sha256"]


class LockedProbe(Server):
    def locked_probe(self, chown, *accounts):
        self.out.seek(0)
        self.out.truncate()
        if os.path.isdir(self.at("/state/locks/lock")):
            shutil.rmtree(self.at("/state/locks/lock"))
        rows = [("lock", "/state", '{"who": "t"}', "root"), *accounts, ("entry", "/etc/a.conf", "", "0"),
                ("read", "/state/applied.json", "", "100"), ("digest", "", "", "0")]
        status = root_files.locked_probe([list(row) for row in rows], self.fd, chown, b"")
        import json
        return status, [json.loads(line) for line in self.records()]

    def test_an_account_the_steps_after_it_need_missing_fails_it_once_the_lock_is_taken_on_a_server_only(self):
        asked = ("user", "gen-no-such-user", "", "0")
        needed = ("user", "gen-no-such-user", "1", "0")
        there = [("user", "root", "1", "0"), ("group", "root", "1", "0")]
        status, found = self.locked_probe(True, *there, asked)
        self.assertEqual(status, 0)
        self.assertEqual(found[0], {"kind": "taken"})
        self.assertEqual([r.get("found") for r in found[1:4]], [True, True, False])
        status, found = self.locked_probe(True, *there, needed)
        self.assertEqual((status, found[0], found[3]), (root_files.DRIFTED, {"kind": "taken"}, {"kind": "user", "path": "gen-no-such-user", "found": False}))
        self.assertEqual([r["kind"] for r in found[4:]], ["missing", "read", "digest"])
        # A folder standing in for a server records owners: it has no accounts to need.
        self.assertEqual(self.locked_probe(False, needed)[0], 0)


if __name__ == "__main__":
    unittest.main()
