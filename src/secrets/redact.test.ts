import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { handWrittenShapes } from "../../test/fixtures/hand-written-settings.js";
import { pythonString } from "../python-string.js";
import { createRedactor, HIDDEN_LINE, secretSafeSides } from "./redact.js";

const DB = "db-pass-3e8a1b7c";
const KEY = "django-key-0f9d8c7b6a";

function settings(db: string, key: string): string {
  return [
    "# Managed by gen",
    "DATABASES = {",
    '    "default": {',
    '        "ENGINE": "django.db.backends.postgresql",',
    `        "PASSWORD": "${db}",`,
    "    },",
    "}",
    "DEBUG = False",
    `SECRET_KEY = "${key}"`,
    "",
  ].join("\n");
}

const content = settings(DB, KEY);
const shown = settings("[secret:DB_PASSWORD]", "[secret:SECRET_KEY]");

describe("secretSafeSides: the server's copy of a file holding secrets", () => {
  for (const shape of handWrittenShapes({ dbPassword: DB, secretKey: KEY })) {
    test(`never shows a value written as: ${shape.name}`, () => {
      const server = `# Managed by gen\n${shape.text}\nDEBUG = False\n`;
      const sides = secretSafeSides(content, shown, server);
      for (const secret of [...shape.secrets, DB, KEY]) {
        assert.ok(!sides.current.includes(secret) && !sides.desired.includes(secret), `${secret} shown:\n${sides.current}`);
      }
      // Lines gen writes itself are still shown, so the diff stays readable.
      assert.match(sides.current, /^DEBUG = False$/m);
      assert.match(sides.current, /^# Managed by gen$/m);
    });
  }

  test("shows gen's secret lines as placeholders when the server has the same value", () => {
    const sides = secretSafeSides(content, shown, content);
    assert.equal(sides.current, shown);
    assert.equal(sides.desired, shown);
  });

  test("shows a line of gen's shape holding another value as changed, without the value", () => {
    const sides = secretSafeSides(content, shown, settings("older-pass-77aa", KEY));
    assert.match(sides.current, /^ {8}"PASSWORD": "\[secret:DB_PASSWORD \(different value\)\]",$/m);
    assert.ok(!sides.current.includes("older-pass-77aa"));
  });

  test("hides, as the README says it does, a server line that begins or ends as gen's secret line but not both", () => {
    const sides = secretSafeSides(
      content,
      shown,
      [`SECRET_KEY = "${KEY}  # rotated`, `SECRET_KEY = "`, `    "TOKEN": "${DB}"`, `OTHER_KEY = "${KEY}-and-more-text-than-gen-writes"`].join("\n"),
    );
    assert.equal(HIDDEN_LINE, "[server line hidden: this file holds secrets; --show-secrets shows it]");
    assert.equal(sides.current, Array(4).fill(HIDDEN_LINE).join("\n"));
  });

  test("shows a line holding a secret as its placeholder, also where the same text is rendered in clear further down", () => {
    const line = `SECRET_KEY = "${KEY}"`;
    const sides = secretSafeSides(`${line}\n${line}\n`, `SECRET_KEY = "[secret:SECRET_KEY]"\n${line}\n`, `${line}\n`);
    assert.equal(sides.current, 'SECRET_KEY = "[secret:SECRET_KEY]"\n');
  });

  test("shows a server line of gen's shape with an empty value as a different value", () => {
    const sides = secretSafeSides(content, shown, 'SECRET_KEY = ""');
    assert.equal(sides.current, 'SECRET_KEY = "[secret:SECRET_KEY (different value)]"');
  });

  test("takes no shape from a secret with only blanks before it, or from a line holding two secrets", () => {
    const real = `    ${KEY}\nURL = "${DB}:${KEY}"\n`;
    const display = '    [secret:SECRET_KEY]\nURL = "[secret:DB_PASSWORD]:[secret:SECRET_KEY]"\n';
    const sides = secretSafeSides(real, display, '    another-value-1234\nURL = "older-pass:older-key-5678"\n');
    assert.equal(sides.current, `${HIDDEN_LINE}\n${HIDDEN_LINE}\n`);
  });

  test("a shape's two ends never overlap in gen's line: a secret rendered as nothing after text that ends as its placeholder does", () => {
    // A template can render a secret as nothing ({{ "" if SECRET|length > 12 else SECRET }}) where its placeholder stays.
    const sides = secretSafeSides("TAG = [KEY]\n", "TAG = [KEY][secret:KEY]\n", "TAG = [KEY]older-value\n");
    assert.equal(sides.current, "TAG = [KEY][secret:KEY (different value)]\n");
  });

  test("hides every server line that is not gen's when the file renders to a different number of lines", () => {
    const sides = secretSafeSides("A = 1\nKEY = 'x1\ny2'\n", "A = 1\nKEY = '[secret:K]'\n", "A = 1\nKEY = 'x1\ny2'\nB = 'other-secret-value'\n");
    assert.equal(sides.current, `A = 1\n${HIDDEN_LINE}\n${HIDDEN_LINE}\n${HIDDEN_LINE}\n`);
  });
});

describe("createRedactor: a secret in every form it is printed in", () => {
  const value = `q"uo't\\e-\u00e9\u20ac-\u{1f511}`;
  const redact = createRedactor([["K", value]]);
  const json = (text: string) => JSON.stringify(text).slice(1, -1);
  const forms: Record<string, string> = {
    raw: value,
    "gen's Python literal": pythonString(value).slice(1, -1),
    "double-quoted": value.replaceAll("\\", "\\\\").replaceAll('"', '\\"'),
    "Python repr": value.replaceAll("\\", "\\\\").replaceAll("'", "\\'"),
    "in a shell word's single quotes": value.replaceAll("'", `'\\''`),
    JSON: json(value),
    "JSON, ASCII only (Python's json.dumps)": json(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
    "URL-encoded": encodeURIComponent(value),
    "gen's Python literal in JSON": json(pythonString(value).slice(1, -1)),
    "shell-quoted in JSON in JSON": json(json(value.replaceAll("'", `'\\''`))),
  };
  for (const [name, form] of Object.entries(forms)) {
    test(name, () => {
      assert.equal(redact(`before ${form} after`), "before [secret:K] after");
    });
  }
  test("a secret holding a tab, double-quoted with its tab kept as it is (C, JavaScript), where JSON would write \\t", () => {
    const withTab = `t\tab"q`;
    assert.equal(createRedactor([["T", withTab]])(`x = "t\tab\\"q"`), `x = "[secret:T]"`);
  });

  test("an empty value redacts nothing (it would be found between every two characters)", () => {
    assert.equal(createRedactor([["EMPTY", ""]])("some text"), "some text");
  });

  test("a value two secrets share is shown as the first one's placeholder", () => {
    const shared = createRedactor([
      ["FIRST", "one-shared-value"],
      ["SECOND", "one-shared-value"],
    ]);
    assert.equal(shared("x one-shared-value"), "x [secret:FIRST]");
  });

  test("the longest form first: a secret inside another is not cut in two", () => {
    const both = createRedactor([
      ["SHORT", "abcdefgh"],
      ["LONG", "abcdefgh-and-more"],
    ]);
    assert.equal(both("abcdefgh-and-more abcdefgh"), "[secret:LONG] [secret:SHORT]");
  });
});
