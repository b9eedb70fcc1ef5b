// What gen init reads from pyproject.toml, as TOML: the forms Poetry and pip accept, and only the dependencies a
// server installs.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { readDjangoProject } from "./read-project.js";

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A folder (no git repository) with manage.py and the given files. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "gen-read-project-"));
  dirs.push(dir);
  const all = { "manage.py": 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site.settings")\n', ...files };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

test("Poetry's python as an inline table, and dependencies written as inline tables, are read", () => {
  const read = readDjangoProject(
    project({
      "pyproject.toml": `[tool.poetry]
name = "site"
keywords = ["redis", "celery"]   # words, not dependencies

[tool.poetry.dependencies]
python = { version = ">=3.10,<3.13" }
Django = "^4.2"
gunicorn = { version = "^22.0", extras = ["gevent"] }
"psycopg2-binary" = "^2.9"

[tool.poetry.group.dev.dependencies]
celery = "^5.3"
`,
    }),
  );
  assert.equal(read.packaging, "poetry");
  assert.equal(read.pythonVersion, "3.10");
  assert.deepEqual(read.uses, { celery: false, postgres: true, redis: false }, "keywords and dev dependencies are not the server's");
  assert.ok(!read.notes.some((n) => n.includes("gunicorn")), read.notes.join("\n"));
});

test("a PEP 621 project built with Poetry 2 (no [tool.poetry]) is Poetry, with its dependencies and requires-python", () => {
  const read = readDjangoProject(
    project({
      "pyproject.toml": `[project]
name = "site"
requires-python = ">=3.11"
dependencies = [
  "Django>=5.0",
  "gunicorn>=22",
  'celery[redis] >= 5.3 ; python_version >= "3.11"',
  "django_redis",
]

[build-system]
requires = ["poetry-core>=2.0.0"]
build-backend = "poetry.core.masonry.api"
`,
    }),
  );
  assert.equal(read.packaging, "poetry");
  assert.equal(read.pythonVersion, "3.11");
  assert.deepEqual(read.uses, { celery: true, postgres: false, redis: true });
});

test("a pyproject.toml that is not TOML is named with its line, and nothing is read from it", () => {
  const dir = project({ "pyproject.toml": '[tool.poetry]\nname = "site\n', "requirements.txt": "django\ngunicorn\n" });
  const read = readDjangoProject(dir);
  assert.equal(read.packaging, "pip");
  assert.ok(
    read.notes.some((n) => n.startsWith(`${join(dir, "pyproject.toml")} is not valid TOML (line 2,`)),
    read.notes.join("\n"),
  );
});
