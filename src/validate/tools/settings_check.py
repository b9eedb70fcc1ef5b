# The Python side of gen validate's settings check (src/validate/tools/python-settings.ts runs it on this machine as
# `python3 -I -B -W error -c`). Input on stdin: {"name", "source", "secret", "mode": "check" | "evaluate"}. Output on
# stdout: {"problems": [[line, message], ...], "values": {UPPERCASE name: value} | null}.
# "check": compile (warnings are errors) + static checks (ast/tokenize, after the recipes' settings-check.py); when
# those pass, also execute it. "evaluate": compile + execute only. Execution uses a fresh namespace; nothing is
# imported from the project and no .pyc is written (compile() in-process, -B). With "secret", messages never quote
# names or values taken from the file.
import ast, builtins, io, json, math, re, sys, tokenize, traceback, warnings

PLACEHOLDERS = ("{REPLACE}", "{{", "}}", "CHANGEME", "TODO")
PLACEHOLDER_RE = re.compile(r"\{[A-Z][A-Z0-9_]*\}")

def compile_source(src, name, problems):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            tree = ast.parse(src, filename=name)
            return tree, compile(tree, name, "exec")
    except SyntaxError as e:
        where = f" (column {e.offset})" if e.offset else ""
        problems.append([e.lineno or 1, f"{type(e).__name__}: {e.msg}{where}"])
    except Warning as w:
        problems.append([1, f"{type(w).__name__}: {w}"])
    return None, None

def implicit_concatenation(src, problems):
    prev = None
    skip = (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.NEWLINE:
            prev = None
        elif tok.type not in skip:
            if prev is not None and prev.type == tokenize.STRING and tok.type == tokenize.STRING:
                problems.append([tok.start[0], "implicit string concatenation (missing comma?)"])
            prev = tok

def placeholder_in(value):
    for p in PLACEHOLDERS:
        if p in value:
            return p
    m = PLACEHOLDER_RE.search(value)
    return m.group(0) if m else None

def statement_checks(tree, secret, problems):
    assigned, known = {}, set(dir(builtins))
    for i, node in enumerate(tree.body):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                known.add((a.asname or a.name).split(".")[0])
            continue
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            continue
        if not isinstance(node, (ast.Assign, ast.AnnAssign)):
            problems.append([node.lineno, f"unexpected top-level statement {type(node).__name__} (only assignments expected)"])
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        label = ", ".join(t.id for t in targets if isinstance(t, ast.Name)) or "an assignment"
        value = node.value if node.value is not None else ast.Constant(None)
        local = {n.id for n in ast.walk(value) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        for sub in ast.walk(value):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id not in known and sub.id not in local:
                shown = "" if secret else f" {sub.id!r}"
                problems.append([sub.lineno, f"undefined name{shown} in the value of {label} (unquoted string?)"])
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                found = placeholder_in(sub.value)
                if found:
                    problems.append([sub.lineno, f"unrendered placeholder {found!r} in {label}"])
        for t in targets:
            if not isinstance(t, ast.Name):
                problems.append([t.lineno, "assignment to something other than a plain name"])
                continue
            if t.id in assigned:
                problems.append([t.lineno, f"{t.id} assigned twice (first at line {assigned[t.id]})"])
            assigned[t.id] = t.lineno
            known.add(t.id)
            if not t.id.isupper():
                problems.append([t.lineno, f"{t.id}: Django ignores settings that are not UPPERCASE"])

def execute(code, name, secret, problems):
    namespace = {"__name__": "settings_local", "__file__": name, "__builtins__": builtins}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            exec(code, namespace)
    except BaseException as e:
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == name]
        line = frames[-1].lineno if frames else 1
        problems.append([line, f"{type(e).__name__} (details hidden: the file holds secrets)" if secret else f"{type(e).__name__}: {e}"])
        return None
    return {k: plain(v) for k, v in namespace.items() if k.isupper() and not k.startswith("_")}

def plain(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {k if isinstance(k, str) else repr(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=repr)
    return repr(value)

def main():
    req = json.load(sys.stdin)
    src, name, secret = req["source"], req["name"], req["secret"]
    problems, values = [], None
    tree, code = compile_source(src, name, problems)
    if tree is not None and req["mode"] == "check":
        implicit_concatenation(src, problems)
        statement_checks(tree, secret, problems)
    if code is not None and not problems:
        values = execute(code, name, secret, problems)
    problems.sort(key=lambda p: p[0])
    print(json.dumps({"problems": problems, "values": values}, allow_nan=False))

if __name__ == "__main__":
    main()
