# gen validate's settings check: the static checks of a rendered settings_local.py (what Django would silently
# ignore or misread), its execution in a fresh namespace, the values as plain JSON, and a file holding secrets whose
# names and values never reach a message.
import io, json, os, subprocess, sys, unittest
from unittest import mock

import settings_check

PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "settings_check.py")


def check(source, secret=False, mode="check"):
    """The program's answer for `source`, run in-process as python-settings.ts runs it: the request on stdin."""
    request = json.dumps({"name": "settings_local.py", "source": source, "secret": secret, "mode": mode})
    out = io.StringIO()
    with mock.patch.object(sys, "stdin", io.StringIO(request)), mock.patch.object(sys, "stdout", out):
        settings_check.main()
    return json.loads(out.getvalue())


def messages(answer):
    return [message for _, message in answer["problems"]]


class Compiling(unittest.TestCase):
    def test_a_syntax_error_names_its_line_and_column_and_nothing_runs(self):
        answer = check('DEBUG = False\nNAME = "x\n')
        self.assertEqual(answer["values"], None)
        [[line, message]] = answer["problems"]
        self.assertEqual(line, 2)
        self.assertRegex(message, r"^SyntaxError: .* \(column \d+\)$")

    def test_a_warning_of_the_compiler_is_a_problem(self):
        # Raised as the error it is turned into (3.11: SyntaxError), or as the warning itself.
        answer = check('PATTERN = "\\d+"\n')
        [[line, message]] = answer["problems"]
        self.assertEqual(line, 1)
        self.assertRegex(message, r"^Syntax(Error|Warning): invalid escape sequence '\\d'")
        self.assertEqual(answer["values"], None)


class StaticChecks(unittest.TestCase):
    def test_a_clean_file_has_no_problem_and_gives_its_values(self):
        source = '"""Rendered by gen."""\nimport os\nDEBUG = False\nHOSTS = [h.upper() for h in ("a", "b")]\nHOME = os.sep\n'
        self.assertEqual(check(source), {"problems": [], "values": {"DEBUG": False, "HOSTS": ["A", "B"], "HOME": "/"}})

    def test_implicit_concatenation_is_a_missing_comma_even_across_lines(self):
        answer = check('HOSTS = ["a" "b"]\nAPPS = (\n    "x"\n    "y"\n)\nA = "a"\nB = "b"\n')
        self.assertEqual(answer["problems"], [[1, "implicit string concatenation (missing comma?)"], [4, "implicit string concatenation (missing comma?)"]])
        self.assertEqual(answer["values"], None)

    def test_an_undefined_name_is_an_unquoted_string_named_unless_the_file_holds_secrets(self):
        self.assertEqual(messages(check("SECRET_KEY = hunter2\n")), ["undefined name 'hunter2' in the value of SECRET_KEY (unquoted string?)"])
        hidden = messages(check("SECRET_KEY = hunter2\n", secret=True))
        self.assertEqual(hidden, ["undefined name in the value of SECRET_KEY (unquoted string?)"])

    def test_names_bound_before_builtins_and_a_values_own_comprehension_are_known(self):
        source = "import os.path\nBASE = 1\nNEXT = BASE + len([x for x in range(3)])\nROOT = os.path.sep\n"
        self.assertEqual(check(source)["problems"], [])

    def test_unrendered_placeholders_are_found_in_every_string_of_a_value(self):
        answer = check('A = "{REPLACE}"\nB = {"k": ["CHANGEME"]}\nC = "{DB_NAME}"\nD = "{lower}"\n')
        self.assertEqual(
            answer["problems"],
            [
                [1, "unrendered placeholder '{REPLACE}' in A"],
                [2, "unrendered placeholder 'CHANGEME' in B"],
                [3, "unrendered placeholder '{DB_NAME}' in C"],
            ],
        )

    def test_a_setting_assigned_twice_names_the_first_line(self):
        self.assertEqual(check("A = 1\nB = 2\nA = 3\n")["problems"], [[3, "A assigned twice (first at line 1)"]])

    def test_django_ignores_a_lowercase_name(self):
        self.assertEqual(check("debug = True\n")["problems"], [[1, "debug: Django ignores settings that are not UPPERCASE"]])

    def test_only_assignments_at_the_top_level_and_only_to_plain_names(self):
        answer = check('import os\nif True:\n    A = 1\nB = {}\nB["k"] = 1\nprint("x")\n')
        self.assertEqual(
            answer["problems"],
            [
                [2, "unexpected top-level statement If (only assignments expected)"],
                [5, "assignment to something other than a plain name"],
                [6, "unexpected top-level statement Expr (only assignments expected)"],
            ],
        )

    def test_evaluate_only_compiles_and_runs(self):
        self.assertEqual(check("debug = True\nA = 1\nA = 2\n", mode="evaluate"), {"problems": [], "values": {"A": 2}})


class Executing(unittest.TestCase):
    def test_an_exception_names_the_line_of_the_file_that_raised_it(self):
        self.assertEqual(check("A = 1\nB = 1 // 0\n")["problems"], [[2, "ZeroDivisionError: integer division or modulo by zero"]])

    def test_with_secrets_the_exception_s_text_is_hidden(self):
        source = 'PASSWORD = "hunter2"\nX = int(PASSWORD)\n'
        answer = check(source, secret=True)
        self.assertEqual(answer, {"problems": [[2, "ValueError (details hidden: the file holds secrets)"]], "values": None})
        self.assertNotIn("hunter2", json.dumps(answer))

    def test_nothing_is_imported_from_the_project_nor_kept_between_runs(self):
        self.assertEqual(check("A = 1\n")["values"], {"A": 1})
        self.assertEqual(messages(check("B = A\n")), ["undefined name 'A' in the value of B (unquoted string?)"])

    def test_values_are_plain_json(self):
        source = "import math\nS = {3, 1, 2}\nT = (1, (2,))\nF = math.inf\nN = math.nan\nD = {1: None}\nO = object\nX = 1.5\n"
        values = check(source)["values"]
        self.assertEqual(values["S"], [1, 2, 3])
        self.assertEqual(values["T"], [1, [2]])
        self.assertEqual((values["F"], values["N"], values["X"]), ("inf", "nan", 1.5))
        self.assertEqual(values["D"], {"1": None})
        self.assertEqual(values["O"], "<class 'object'>")
        self.assertNotIn("math", values)


class AsGenRunsIt(unittest.TestCase):
    def test_python3_isolated_without_bytecode_warnings_as_errors(self):
        request = json.dumps({"name": "settings_local.py", "source": "DEBUG = False\n", "secret": False, "mode": "check"})
        with open(PROGRAM) as f:
            program = f.read()
        done = subprocess.run([sys.executable, "-I", "-B", "-W", "error", "-c", program], input=request, capture_output=True, text=True, timeout=60)
        self.assertEqual((done.returncode, done.stderr), (0, ""))
        self.assertEqual(json.loads(done.stdout), {"problems": [], "values": {"DEBUG": False}})


if __name__ == "__main__":
    unittest.main()
