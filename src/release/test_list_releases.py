# The release listing's program: it reads the deploy user's files as hostile input (no link followed, no FIFO waited
# on, nothing over its limit, JSON or nothing), and finds the processes that still run in a release through their
# working folder in /proc, so that pruning never removes a release a process uses.
import contextlib, io, json, os, shutil, subprocess, sys, tempfile, unittest
from unittest import mock

import list_releases

PATTERN = r"\d{8}T\d{6}Z"


class Releases(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="gen-releases-")
        self.addCleanup(shutil.rmtree, self.folder)
        self.releases = os.path.join(self.folder, "releases")
        os.mkdir(self.releases)

    def release(self, name, deployment=None):
        public = os.path.join(self.releases, name, "public")
        os.makedirs(public)
        if deployment is not None:
            with open(os.path.join(public, "deployment.json"), "w") as f:
                f.write(deployment)
        return os.path.join(self.releases, name)

    def listing(self, limit=64):
        spec = {"releases": self.releases, "current": os.path.join(self.folder, "current"), "publicDir": "public", "pattern": PATTERN, "limit": limit}
        out = io.StringIO()
        with mock.patch.object(sys, "argv", ["-c", json.dumps(spec)]), contextlib.redirect_stdout(out):
            list_releases.main()
        return json.loads(out.getvalue())


class Load(Releases):
    def test_reads_a_regular_file_as_json(self):
        path = os.path.join(self.release("20260101T000000Z", '{"commit": "abc"}'), "public", "deployment.json")
        self.assertEqual(list_releases.load(path, 64), {"commit": "abc"})

    def test_nothing_over_the_limit_nor_what_is_not_json(self):
        path = os.path.join(self.folder, "big.json")
        with open(path, "w") as f:
            f.write(json.dumps("x" * 70))
        self.assertIsNone(list_releases.load(path, 64))
        self.assertEqual(list_releases.load(path, 100), "x" * 70)
        with open(path, "w") as f:
            f.write("{not json")
        self.assertIsNone(list_releases.load(path, 64))
        self.assertIsNone(list_releases.load(os.path.join(self.folder, "missing.json"), 64))

    def test_nothing_nested_deeper_than_gen_writes(self):
        # 5000 deep: Python's parser gives up (RecursionError), which used to end the whole listing with exit 1.
        path = os.path.join(self.folder, "deep.json")
        for depth in (5000, list_releases.MAX_DEPTH + 1):
            with open(path, "w") as f:
                f.write("[" * depth + "]" * depth)
            self.assertIsNone(list_releases.load(path, 20000), depth)
        with open(path, "w") as f:
            f.write("[" * list_releases.MAX_DEPTH + "]" * list_releases.MAX_DEPTH)
        self.assertEqual(json.dumps(list_releases.load(path, 20000)), "[" * list_releases.MAX_DEPTH + "]" * list_releases.MAX_DEPTH)
        with open(path, "w") as f:
            f.write('{"a": [1, {"b": ' + "[" * list_releases.MAX_DEPTH + "]" * list_releases.MAX_DEPTH + "}]}")
        self.assertIsNone(list_releases.load(path, 20000), "depth counted through objects and lists")

    def test_a_release_whose_files_nest_too_deep_is_listed_without_them(self):
        deep = "[" * 5000 + "]" * 5000
        release = self.release("20260101T000000Z", deep)
        with open(os.path.join(release, "migrations.json"), "w") as f:
            f.write(deep)
        self.assertEqual(self.listing(limit=20000)["releases"], [{"id": "20260101T000000Z", "deployment": None, "migrations": None, "inUse": []}])

    def test_follows_no_link_and_waits_on_no_fifo(self):
        target = os.path.join(self.folder, "secret.json")
        with open(target, "w") as f:
            f.write('{"root": "only"}')
        os.symlink(target, os.path.join(self.folder, "link.json"))
        os.mkfifo(os.path.join(self.folder, "fifo.json"))
        self.assertIsNone(list_releases.load(os.path.join(self.folder, "link.json"), 64))
        self.assertIsNone(list_releases.load(os.path.join(self.folder, "fifo.json"), 64))


class Users(Releases):
    def test_finds_a_process_working_in_a_release_and_names_its_release(self):
        backend = os.path.join(self.release("20260101T000000Z"), "backend")
        os.mkdir(backend)
        worker = subprocess.Popen(["sleep", "30"], cwd=backend)
        self.addCleanup(worker.wait)
        self.addCleanup(worker.kill)
        used = list_releases.users(self.releases)
        self.assertIn(worker.pid, used.get("20260101T000000Z", set()))
        self.assertNotIn(os.getpid(), {pid for pids in used.values() for pid in pids})

    def test_a_release_reached_through_a_link_is_found_by_its_real_path(self):
        self.release("20260101T000000Z")
        os.symlink(self.releases, os.path.join(self.folder, "linked"))
        worker = subprocess.Popen(["sleep", "30"], cwd=os.path.join(self.releases, "20260101T000000Z"))
        self.addCleanup(worker.wait)
        self.addCleanup(worker.kill)
        self.assertIn(worker.pid, list_releases.users(os.path.join(self.folder, "linked")).get("20260101T000000Z", set()))


class Listing(Releases):
    def test_lists_the_releases_sorted_with_their_files_the_live_one_and_those_in_use(self):
        self.release("20260102T000000Z", '{"commit": "b"}')
        old = self.release("20260101T000000Z", "not json")
        self.release("not-a-release")
        os.symlink("releases/20260102T000000Z", os.path.join(self.folder, "current"))
        worker = subprocess.Popen(["sleep", "30"], cwd=old)
        self.addCleanup(worker.wait)
        self.addCleanup(worker.kill)
        self.assertEqual(self.listing(), {"current": "releases/20260102T000000Z", "releases": [
            {"id": "20260101T000000Z", "deployment": None, "migrations": None, "inUse": [str(worker.pid)]},
            {"id": "20260102T000000Z", "deployment": {"commit": "b"}, "migrations": None, "inUse": []},
        ]})

    def test_no_releases_folder_and_no_current_link_is_an_empty_listing(self):
        os.rmdir(self.releases)
        self.assertEqual(self.listing(), {"current": None, "releases": []})


if __name__ == "__main__":
    unittest.main()
