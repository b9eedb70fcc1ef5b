# The retry rules of the smoke checks' program: what is tried again (a refused or reset connection, 502/503/504, no
# pong yet) until the check's time runs out, what ends a check at once (an answer that waiting cannot change, a unit
# that stopped), the unit looked at through the spec's own commands (here sh stand-ins for systemctl), and its
# journal kept as bounded text. src/release/smoke-program.test.ts runs the whole program against real sockets.
import os, socket, stat, tempfile, threading, time, unittest
from unittest import mock

import smoke_checks


def sh(text):
    return ["sh", "-c", text]


def unit(state="failed", exit_status="3", journal="the last line\\n", **extra):
    """A unit whose `systemctl show` says `state`, and whose `systemctl status` ends with `journal`."""
    properties = "ActiveState=%s\\nSubState=x\\nResult=exit-code\\nExecMainStatus=%s\\n" % (state, exit_status)
    found = {"unit": "app.service", "show": sh("printf '%s'" % properties), "status": sh("printf 'x.service\\n   Active: failed\\n\\n%s'" % journal),
             "exitMeanings": {"3": "worker failed to boot"}}
    found.update(extra)
    return found


class Checks(unittest.TestCase):
    def setUp(self):
        self.saved = smoke_checks.timeout, smoke_checks.PAUSE
        smoke_checks.timeout, smoke_checks.PAUSE = 1, 0.05
        self.addCleanup(self.restore)

    def restore(self):
        smoke_checks.timeout, smoke_checks.PAUSE = self.saved


class Clock:
    """The program's clock in these tests: time moves only when the program sleeps, so counts are exact."""
    def __init__(self):
        self.now = 1024.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class OnAClock(Checks):
    def setUp(self):
        super().setUp()
        # Binary fractions: a 1 s check with a pause of 0.25 s tries at 0, 0.25, 0.5 and 0.75 s, exactly.
        smoke_checks.PAUSE = 0.25
        self.clock = Clock()
        patcher = mock.patch.object(smoke_checks, "time", self.clock)
        patcher.start()
        self.addCleanup(patcher.stop)


class UntilReady(OnAClock):
    def attempts(self, outcomes):
        """An attempt that raises or returns each of `outcomes` in turn (the last one again), counting its calls."""
        calls = []

        def attempt(deadline):
            outcome = outcomes[min(len(calls), len(outcomes) - 1)]
            calls.append(deadline)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        return attempt, calls

    def test_tries_again_while_not_ready_and_passes_when_it_is(self):
        attempt, calls = self.attempts([smoke_checks.NotReady("no answer"), smoke_checks.NotReady("no answer"), ("ok", "answered 200", None)])
        self.assertEqual(smoke_checks.until_ready(attempt), ("ok", "answered 200", None))
        self.assertEqual(len(calls), 3)

    def test_fails_with_the_last_reason_and_the_count_when_the_time_runs_out(self):
        attempt, calls = self.attempts([smoke_checks.NotReady("first"), smoke_checks.NotReady("app.sock answered 503")])
        started = self.clock.now
        self.assertEqual(smoke_checks.until_ready(attempt), ("fail", "app.sock answered 503 (4 attempts in 1 s)", None))
        self.assertEqual(calls, [started + 1] * 4)
        # No pause that would end past the check's time: it stops after its last attempt.
        self.assertEqual(self.clock.now, started + 0.75)

    def test_an_answer_waiting_cannot_change_ends_the_check_at_once(self):
        attempt, calls = self.attempts([smoke_checks.Failed("no answer from app.sock (PermissionError: denied)")])
        self.assertEqual(smoke_checks.until_ready(attempt), ("fail", "no answer from app.sock (PermissionError: denied)", None))
        self.assertEqual(len(calls), 1)

    def test_a_unit_that_failed_ends_the_wait_with_its_exit_meaning_and_journal(self):
        failed = unit(journal="line one\\nline two\\n")
        attempt, calls = self.attempts([smoke_checks.NotReady("no answer from app.sock")])
        self.assertEqual(smoke_checks.until_ready(attempt, failed), (
            "fail", "no answer from app.sock; app.service failed: worker failed to boot (exit status 3, result exit-code)", ["line one", "line two"]))
        self.assertEqual(len(calls), 1)
        # The journal goes with the first check that names the unit, not with every check behind it.
        self.assertEqual(smoke_checks.until_ready(attempt, failed)[2], None)

    def test_a_unit_that_stopped_while_an_answer_was_awaited_ends_the_check(self):
        attempt, _ = self.attempts([smoke_checks.UnitDown("no answer from app.sock")])
        failed = unit()
        self.assertIsNotNone(smoke_checks.unit_down(failed))
        self.assertEqual(smoke_checks.until_ready(attempt, failed)[:2], ("fail", "no answer from app.sock; app.service failed: worker failed to boot (exit status 3, result exit-code)"))

    def test_a_running_unit_does_not_end_the_wait(self):
        attempt, calls = self.attempts([smoke_checks.NotReady("no answer")])
        self.assertEqual(smoke_checks.until_ready(attempt, unit(state="activating")), ("fail", "no answer (4 attempts in 1 s)", None))
        self.assertEqual(len(calls), 4)


class UnitDown(OnAClock):
    def test_an_inactive_unit_is_given_two_pauses_to_start(self):
        inactive = unit(state="inactive", exit_status="0")
        self.assertIsNone(smoke_checks.unit_down(inactive))
        self.clock.sleep(smoke_checks.PAUSE)
        self.assertIsNone(smoke_checks.unit_down(inactive))
        self.clock.sleep(smoke_checks.PAUSE)
        detail, _ = smoke_checks.unit_down(inactive)
        self.assertEqual(detail, "app.service is inactive: its main process is gone (exit status 0, result exit-code)")

    def test_a_unit_that_comes_back_from_inactive_starts_its_grace_again(self):
        coming = unit(state="inactive")
        self.assertIsNone(smoke_checks.unit_down(coming))
        coming["show"] = unit(state="activating")["show"]
        self.assertIsNone(smoke_checks.unit_down(coming))
        self.assertNotIn("inactive_since", coming)

    def test_a_unit_systemctl_cannot_show_may_still_come_up(self):
        self.assertIsNone(smoke_checks.unit_down(unit(show=sh("exit 1"))))
        self.assertIsNone(smoke_checks.unit_down(unit(show=["/nonexistent/systemctl"])))

    def test_says_where_the_journal_is_when_it_cannot_be_read(self):
        detail, journal = smoke_checks.unit_down(unit(status=None))
        self.assertEqual(journal, None)
        self.assertTrue(detail.endswith("; its journal could not be read (sudo journalctl -u app.service shows it)"))

    def test_keeps_the_last_twenty_journal_lines_of_at_most_400_characters(self):
        lines = "".join("line %d %s\\n" % (n, "x" * 500) for n in range(30))
        journal = smoke_checks.unit_journal(unit(journal=lines))
        self.assertEqual(len(journal), 20)
        self.assertTrue(journal[0].startswith("line 10 "))
        self.assertEqual({len(line) for line in journal}, {400})


class Get(Checks):
    def answer(self, text):
        """An opener that connects to a stand-in server which answers every request with `text`."""
        def opener(wait):
            ours, theirs = socket.socketpair()

            def serve():
                with theirs:
                    theirs.recv(4096)
                    theirs.sendall(text)
            threading.Thread(target=serve, daemon=True).start()
            return ours
        return opener

    def get(self, opener):
        return smoke_checks.get(opener, "app.sock", "app.example", "/", time.monotonic() + 1)

    def test_the_status_of_an_http_answer(self):
        self.assertEqual(self.get(self.answer(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")), 404)

    def test_a_gateway_that_is_not_ready_yet_is_asked_again(self):
        for status in (502, 503, 504):
            with self.assertRaisesRegex(smoke_checks.NotReady, "^app.sock answered %d$" % status):
                self.get(self.answer(b"HTTP/1.1 %d X\r\n\r\n" % status))

    def test_a_refused_connection_is_not_ready_and_a_closed_one_neither(self):
        def refused(wait):
            raise ConnectionRefusedError(111, "Connection refused")
        with self.assertRaisesRegex(smoke_checks.NotReady, r"^no answer from app.sock \(ConnectionRefusedError: "):
            self.get(refused)
        with self.assertRaisesRegex(smoke_checks.NotReady, r"the connection was closed without an answer"):
            self.get(self.answer(b""))

    def test_something_that_is_not_http_fails_at_once(self):
        with self.assertRaisesRegex(smoke_checks.Failed, r"^no answer from app.sock \(not an HTTP answer: 'SSH-2.0-OpenSSH'\)$"):
            self.get(self.answer(b"SSH-2.0-OpenSSH\r\n"))

    def test_a_server_error_fails_and_another_status_passes_unless_200_is_wanted(self):
        self.assertEqual(smoke_checks.answered("nginx", 500), ("fail", "nginx answered 500", None))
        self.assertEqual(smoke_checks.answered("nginx", 404), ("ok", "nginx answered 404", None))
        self.assertEqual(smoke_checks.answered("nginx", 404, want_ok=True), ("fail", "nginx answered 404", None))


class Media(Checks):
    def test_permission_bits_of_owner_group_and_others(self):
        info = os.stat_result((stat.S_IFDIR | 0o750, 0, 0, 0, 1000, 33, 0, 0, 0, 0))
        self.assertTrue(smoke_checks.can(info, 1000, set(), 5))
        self.assertTrue(smoke_checks.can(info, 2000, {33}, 5))
        self.assertFalse(smoke_checks.can(info, 2000, {33}, 7))
        self.assertFalse(smoke_checks.can(info, 2000, set(), 1))
        self.assertTrue(smoke_checks.can(info, 0, set(), 7))

    def test_the_static_check_asks_nginx_for_the_first_collected_file(self):
        with tempfile.TemporaryDirectory() as folder:
            os.makedirs(os.path.join(folder, "b"))
            os.makedirs(os.path.join(folder, "a"))
            for name in ("b/z.css", "a/y.js", "a/x.js"):
                open(os.path.join(folder, name), "w").close()
            asked = []

            def get(opener, where, host, path, deadline, unit=None):
                asked.append(path)
                return 200
            with mock.patch.object(smoke_checks, "get", get):
                result = smoke_checks.check_static({"dir": folder, "shownDir": "/static", "location": "/static/"}, {"domain": "app.example"})
        self.assertEqual((result, asked), (("ok", "nginx for /static/a/x.js answered 200", None), ["/static/a/x.js"]))


if __name__ == "__main__":
    unittest.main()
