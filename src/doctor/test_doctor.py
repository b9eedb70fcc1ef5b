# The doctor program's decisions, run against this machine's users and groups and a stand-in sudo: who may connect
# to the Gunicorn socket, whether the drop-in is there, which groups' sudo rules need a password (and so are not
# listed before it is), and what `sudo -n -l` lists against the drop-in's commands.
import os, pwd, shutil, stat, tempfile, unittest
from unittest import mock

import doctor


def me():
    return pwd.getpwuid(os.geteuid()).pw_name


class Checks(unittest.TestCase):
    def setUp(self):
        doctor.results.clear()
        self.addCleanup(doctor.results.clear)
        doctor.timeout = 10

    def records(self):
        return [dict(r) for r in doctor.results]


class SocketAccess(Checks):
    def spec(self, **overrides):
        spec = {"user": "root", "group": "root", "socket": "/run/app.sock", "owner": "www-data", "mode": 0o660, "shownMode": "0660",
                "fix": "sudo usermod -aG root root", "modeFix": "set gunicorn.socketMode"}
        spec.update(overrides)
        return spec

    def test_root_may_connect_whatever_the_mode(self):
        doctor.check_socket_access(self.spec(mode=0o600))
        self.assertEqual(self.records(), [{"check": "group", "subject": "root", "status": "ok",
                                           "detail": "root is root and may connect to the Gunicorn socket /run/app.sock (www-data:root 0660)"}])

    @unittest.skipIf(os.geteuid() == 0, "root may connect to anything")
    def test_the_owner_needs_the_owners_write_bit(self):
        doctor.check_socket_access(self.spec(user=me(), owner=me(), mode=0o460))
        self.assertEqual([(r["status"], r.get("fix")) for r in self.records()], [("fail", "set gunicorn.socketMode")])

    def test_a_user_or_group_that_does_not_exist_is_left_to_their_own_checks(self):
        doctor.check_socket_access(self.spec(user="gen-doctor-no-such-user"))
        doctor.check_socket_access(self.spec(group="gen-doctor-no-such-group"))
        self.assertEqual(self.records(), [])

    def test_a_user_outside_the_group_is_refused_with_the_usermod(self):
        outsider = next((u for u in pwd.getpwall() if u.pw_uid != 0 and 0 not in os.getgrouplist(u.pw_name, u.pw_gid)), None)
        if outsider is None:
            self.skipTest("no user of this machine outside group root")
        doctor.check_socket_access(self.spec(user=outsider.pw_name))
        [found] = self.records()
        self.assertEqual((found["status"], found["fix"]), ("fail", "sudo usermod -aG root root"))
        self.assertRegex(found["detail"], "^%s is not in group root: every deploy's Gunicorn smoke check connects to " % outsider.pw_name)


class Journal(Checks):
    def spec(self, user):
        return {"user": user, "groups": ["systemd-journal", "adm", "wheel"], "fix": "sudo usermod -aG systemd-journal %s" % user}

    def test_root_reads_the_journal(self):
        doctor.check_journal(self.spec("root"))
        self.assertEqual(self.records(), [{"check": "journal", "subject": "root", "status": "ok", "detail": "root reads the system journal (root)"}])

    def test_a_user_in_none_of_the_groups_is_a_warning_with_the_usermod(self):
        outsider = next((u for u in pwd.getpwall() if u.pw_uid != 0 and not any(doctor.in_group(u.pw_name, g) for g in ["systemd-journal", "adm", "wheel"])), None)
        if outsider is None:
            self.skipTest("every user of this machine reads the journal")
        doctor.check_journal(self.spec(outsider.pw_name))
        [found] = self.records()
        self.assertEqual((found["status"], found["fix"]), ("warn", "sudo usermod -aG systemd-journal %s" % outsider.pw_name))
        self.assertEqual(found["detail"], "%s is in none of the groups systemd-journal, adm, wheel: gen logs cannot read the units' journal" % outsider.pw_name)

    def test_a_user_that_does_not_exist_is_left_to_its_own_check(self):
        doctor.check_journal(self.spec("gen-doctor-no-such-user"))
        self.assertEqual(self.records(), [])


class Groups(Checks):
    def test_a_user_is_in_its_primary_group_and_the_groups_that_list_it(self):
        self.assertTrue(doctor.in_group("root", "root"))
        self.assertFalse(doctor.in_group("root", "gen-doctor-no-such-group"))
        self.assertFalse(doctor.in_group("gen-doctor-no-such-user", "root"))
        with open("/etc/group") as f:
            listed = [line.rstrip("\n").split(":") for line in f]
        listed = [fields for fields in listed if len(fields) == 4 and fields[3]]
        if not listed:
            self.skipTest("no group of this machine lists a member")
        self.assertTrue(doctor.in_group(listed[0][3].split(",")[0], listed[0][0]))

    def test_a_deploy_user_in_a_group_sudoers_lets_run_anything_is_a_problem(self):
        doctor.check_admin_groups("root", [{"name": "root", "fix": "sudo deluser root root"}, {"name": "gen-doctor-no-such-group", "fix": "never shown"}])
        self.assertEqual(self.records(), [{
            "check": "sudo", "subject": "root", "status": "fail",
            "detail": "root is in group root, which the distribution's /etc/sudoers lets run any command as root (with root's password)",
            "fix": "sudo deluser root root",
        }])

    def test_the_drop_in_is_installed_when_its_file_is_there_whatever_it_holds(self):
        with tempfile.TemporaryDirectory() as folder:
            open(os.path.join(folder, "tsosi"), "w").close()
            self.assertIs(doctor.drop_in_installed(os.path.join(folder, "tsosi")), True)
            self.assertIs(doctor.drop_in_installed(os.path.join(folder, "other")), False)


LISTING = """User %(user)s may run the following commands on this-host:

Sudoers entry: /etc/sudoers.d/tsosi
    RunAsUsers: root
    Options: !authenticate
    Commands:
\t/usr/bin/systemctl restart tsosi_gunicorn
\t/usr/bin/systemctl reload nginx
"""


class Sudo(Checks):
    """check_sudo with a stand-in sudo first on the PATH that prints `listing` and `stderr` and exits with `status`."""

    def run_check(self, listing, status=0, stderr="", installed=True):
        folder = tempfile.mkdtemp(prefix="gen-doctor-sudo-")
        self.addCleanup(shutil.rmtree, folder)
        for name, text in (("listing", listing % {"user": me()}), ("stderr", stderr)):
            with open(os.path.join(folder, name), "w") as f:
                f.write(text)
        sudo = os.path.join(folder, "sudo")
        with open(sudo, "w") as f:
            f.write("#!/bin/sh\ncat '%s/listing'; cat '%s/stderr' >&2; exit %d\n" % (folder, folder, status))
        os.chmod(sudo, stat.S_IRWXU)
        drop_in = os.path.join(folder, "tsosi")
        if installed:
            open(drop_in, "w").close()
        env = dict(doctor.SUDO_ENV, PATH=folder + os.pathsep + doctor.SUDO_ENV.get("PATH", ""))
        with mock.patch.object(doctor, "SUDO_ENV", env):
            doctor.check_sudo({
                "user": me(), "dropIn": "/etc/sudoers.d/tsosi", "path": drop_in,
                "commands": ["/usr/bin/systemctl restart tsosi_gunicorn", "/usr/bin/systemctl reload nginx"],
                "missingFix": "gen apply prod", "installFix": "apt-get install sudo",
                "adminGroups": [{"name": "gen-doctor-no-such-group", "fix": "never"}],
            })
        return [(r["status"], r["detail"], r.get("fix")) for r in self.records()]

    def test_exactly_the_drop_ins_commands(self):
        self.assertEqual(self.run_check(LISTING), [("ok", "sudo -n -l as %s lists exactly the drop-in's 2 commands" % me(), None)])

    def test_a_command_more_from_another_file_is_a_problem_naming_that_file(self):
        more = LISTING + "\nSudoers entry: /etc/sudoers.d/extra\n    Commands:\n\t/bin/sh -c echo\\ hi\n"
        self.assertEqual(self.run_check(more), [(
            "fail", "sudo -n -l as %s lists 1 commands the drop-in does not (from /etc/sudoers.d/extra): /bin/sh -c echo hi" % me(),
            "sudo visudo -f /etc/sudoers.d/extra (remove the rules the drop-in does not list)")])

    def test_a_missing_command_is_fixed_by_apply(self):
        fewer = LISTING.replace("\t/usr/bin/systemctl reload nginx\n", "")
        self.assertEqual(self.run_check(fewer), [(
            "fail", "sudo -n -l as %s lacks 1 of the drop-in's commands: /usr/bin/systemctl reload nginx" % me(), "gen apply prod")])

    def test_before_the_first_apply_rules_that_need_a_password_are_not_a_problem(self):
        found = self.run_check("", status=1, stderr="sudo: a password is required\n", installed=False)
        self.assertEqual(len(found), 1)
        self.assertEqual(found[0][0], "ok")
        self.assertRegex(found[0][1], "^the drop-in /etc/sudoers.d/tsosi is not installed yet: gen apply installs it, with its 2 commands; sudo -n -l as ")

    def test_without_sudo_the_fix_installs_it(self):
        with mock.patch.object(doctor.subprocess, "run", side_effect=FileNotFoundError("sudo")):
            doctor.check_sudo({"user": me(), "installFix": "su -c 'apt-get install sudo'"})
        self.assertEqual([(r["status"], r["detail"], r["fix"]) for r in self.records()], [("fail", "sudo is not installed", "su -c 'apt-get install sudo'")])

    def test_escaped_characters_of_a_command_are_read_as_sudo_means_them(self):
        self.assertEqual(doctor.unescape("/bin/echo a\\,b\\\\c\\"), "/bin/echo a,b\\c\\")


if __name__ == "__main__":
    unittest.main()
