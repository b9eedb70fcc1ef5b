// The shape of gen's code, checked on every test run: no stage imports the CLI, no command imports another
// command's module, release reaches apply only through its entry and shares the server plumbing (src/server)
// instead, that plumbing imports no stage, no module imports itself through others, and the stages (the folders
// of src/, and the modules at its top) import each other without a cycle. The cache folder's module imports only
// Node's built-ins (the launcher uses it).
// Secret handling (references, values, placeholders, redaction) lives in src/secrets alone, used through its index,
// and only the output layer writes to the process's streams.
// dependency-cruiser reads the compiled JavaScript in dist/ (TypeScript 7 has no compiler API for it to read the
// sources with): that is the graph Node loads, where type-only imports are gone. The stage rules are checked again on
// the sources' own imports (sourceGraph), type-only ones included: a type one stage borrows from another binds them
// as much as a function does.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { test } from "node:test";
import { cruise, type ICruiseResult } from "dependency-cruiser";
import { packageRoot } from "../src/paths.js";

/** Stage cycles known and not yet taken apart, as "a -> b" of the two stages (none today). */
const ALLOWED_STAGE_CYCLES = new Set<string>([]);

async function graph(): Promise<ICruiseResult> {
  const result = await cruise(["dist/src", "dist/schema"], {
    baseDir: packageRoot,
    exclude: { path: ["\\.test\\.js$"] },
    doNotFollow: { path: ["node_modules"] },
    validate: true,
    ruleSet: {
      forbidden: [
        { name: "no-circular", severity: "error", from: {}, to: { circular: true } },
        { name: "no-stage-imports-cli", severity: "error", from: { pathNot: "^dist/src/cli/" }, to: { path: "^dist/src/cli/" } },
        { name: "only-secrets-reads-secrets-files", severity: "error", from: { pathNot: "^dist/src/secrets/" }, to: { path: "node_modules/dotenv/" } },
        {
          name: "secrets-used-through-its-index",
          severity: "error",
          from: { pathNot: "^dist/src/secrets/" },
          to: { path: "^dist/src/secrets/", pathNot: "^dist/src/secrets/index\\.js$" },
        },
        // Said on its own too: a release that reached for a command's module would run another command's work.
        { name: "no-release-imports-commands", severity: "error", from: { path: "^dist/src/release/" }, to: { path: "^dist/src/cli/commands/" } },
        // Release shares the server plumbing (src/server) with apply; of apply it may use only the stage's entry.
        {
          name: "release-imports-apply-entry-only",
          severity: "error",
          from: { path: "^dist/src/release/" },
          to: { path: "^dist/src/apply/", pathNot: "^dist/src/apply/apply-environment\\.js$" },
        },
        // The plumbing sits under the stages that use it.
        {
          name: "no-server-imports-stages",
          severity: "error",
          from: { path: "^dist/src/server/" },
          to: { path: "^dist/src/(plan|apply|release|doctor|cli)/" },
        },
        // The launcher reads the code cache through src/cache before any of the CLI is loaded.
        { name: "cache-imports-built-ins-only", severity: "error", from: { path: "^dist/src/cache/" }, to: { dependencyTypesNot: ["core"] } },
        // A command's work calls stages, never another command's module (deploy calls the apply stage, not gen apply).
        {
          name: "no-command-imports-another",
          severity: "error",
          from: { path: "^dist/src/cli/commands/([^/]+?)(-run)?\\.js$", pathNot: "^dist/src/cli/commands/index\\.js$" },
          to: { path: "^dist/src/cli/commands/", pathNot: "^dist/src/cli/commands/$1(-run)?\\.js$" },
        },
      ],
    },
  });
  return result.output as ICruiseResult;
}

const cruised = graph();

/** Every relative import and re-export of the TypeScript sources (src/ and schema/, tests left out), type-only included. */
function sourceGraph(): { from: string; to: string; line: string }[] {
  const edges: { from: string; to: string; line: string }[] = [];
  for (const top of ["src", "schema"]) {
    for (const file of readdirSync(join(packageRoot, top), { recursive: true, encoding: "utf8" })) {
      if (!file.endsWith(".ts") || file.endsWith(".test.ts")) continue;
      const from = `${top}/${file}`;
      const text = readFileSync(join(packageRoot, from), "utf8");
      for (const match of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gms)) {
        const to = normalize(join(dirname(from), match[1]!)).replace(/\.js$/, ".ts");
        edges.push({ from, to, line: match[0].replace(/\s+/g, " ").trim() });
      }
    }
  }
  return edges;
}

/** The stage of a source path: a folder of src/, a module at its top, or schema. */
function sourceStage(path: string): string | undefined {
  if (path.startsWith("schema/")) return "schema";
  const match = /^src\/([^/]+?)(?:\.ts)?(?:\/|$)/.exec(path);
  return match ? `src/${match[1]}` : undefined;
}

test("the import graph reads every module of src/ and schema/", async () => {
  const { modules } = await cruised;
  const sources = modules.map((m) => m.source);
  for (const expected of [
    "dist/src/cli/main.js",
    "dist/src/render/render-environment.js",
    "dist/src/apply/apply-plan.js",
    "dist/src/server/lock.js",
    "dist/schema/index.js",
  ]) {
    assert.ok(sources.includes(expected), `${expected} was not read (did the build run?)`);
  }
  const render = modules.find((m) => m.source === "dist/src/render/render-environment.js")!;
  assert.ok(
    render.dependencies.some((d) => d.resolved === "dist/src/render/python-literal.js"),
    "imports are resolved",
  );
});

test("no stage imports the CLI, no module imports itself through others, and secrets are reached through src/secrets/index", async () => {
  const violations = (await cruised).summary.violations.map((v) =>
    v.rule.name === "no-circular" ? `cycle: ${[v.from, ...(v.cycle ?? []).map((c) => c.name)].join(" -> ")}` : `${v.rule.name}: ${v.from} -> ${v.to}`,
  );
  assert.deepEqual(violations, []);
});

test("the stages import each other without a cycle", async () => {
  const edges = (await cruised).modules.flatMap((m) =>
    m.dependencies.map((d) => ({ from: stageOf(m.source), to: stageOf(d.resolved), why: `${m.source} -> ${d.resolved}` })),
  );
  assert.deepEqual(stageCycles(edges), []);
});

test("the stages import each other without a cycle in the sources, type-only imports included", () => {
  const edges = sourceGraph().map((e) => ({ from: sourceStage(e.from), to: sourceStage(e.to), why: `${e.from}: ${e.line}` }));
  assert.ok(
    edges.some((e) => e.why.startsWith("src/apply/apply-plan.ts: import type")),
    "type-only imports are read",
  );
  assert.deepEqual(stageCycles(edges), []);
});

test("the server plumbing imports no stage in the sources either, type-only imports included", () => {
  const found = sourceGraph()
    .filter((e) => e.from.startsWith("src/server/") && /^src\/(plan|apply|release|doctor|cli)\//.test(e.to))
    .map((e) => `${e.from}: ${e.line}`);
  assert.deepEqual(found, []);
});

function stageCycles(list: { from: string | undefined; to: string | undefined; why: string }[]): string[] {
  const edges = new Map<string, Map<string, string>>();
  for (const { from, to, why } of list) {
    if (!from || !to || from === to) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    edges.get(from)!.set(to, why);
  }
  const cycles: string[] = [];
  for (const [a, targets] of edges) {
    for (const [b, why] of targets) {
      const back = pathBetween(edges, b, a);
      if (back && !ALLOWED_STAGE_CYCLES.has(`${a} -> ${b}`)) cycles.push(`${a} -> ${b} (${why}), and back: ${back.join(" -> ")}`);
    }
  }
  return cycles;
}

test("only src/secrets tells a secret reference from data or writes a placeholder", () => {
  const src = join(packageRoot, "src");
  const found: string[] = [];
  for (const file of readdirSync(src, { recursive: true, encoding: "utf8" })) {
    if (!file.endsWith(".ts") || file.endsWith(".test.ts") || file.startsWith(`secrets/`)) continue;
    readFileSync(join(src, file), "utf8")
      .split("\n")
      .forEach((line, i) => {
        // A type guard on references, or a placeholder written in a string: both belong to src/secrets.
        if (/\bis SecretRef\b/.test(line) || /["'`][^"'`]*\[secret:/.test(line)) found.push(`src/${file}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(found, []);
});

test("only the output layer (src/cli/output.ts) writes to the process's streams: a new print site cannot skip redaction", () => {
  const src = join(packageRoot, "src");
  const found: string[] = [];
  for (const file of readdirSync(src, { recursive: true, encoding: "utf8" })) {
    if (!file.endsWith(".ts") || file.endsWith(".test.ts") || file === "cli/output.ts") continue;
    readFileSync(join(src, file), "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (/\bprocess\.(stdout|stderr)\b|\bconsole\.|\bpicocolors\b|\bwriteSync\(\s*[12]\s*,|"\/dev\/(stdout|stderr|tty)"/.test(line))
          found.push(`src/${file}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(found, []);
});

/** src/<folder>, a module at the top of src/, or schema; undefined outside gen's own code. */
function stageOf(path: string): string | undefined {
  const match = /^dist\/(src\/[^/]+|schema)(\/|$)/.exec(path);
  return match?.[1];
}

/** The stages on a path of imports from `from` to `to`, or undefined when there is none. */
function pathBetween(edges: Map<string, Map<string, string>>, from: string, to: string): string[] | undefined {
  const seen = new Set<string>([from]);
  const queue: string[][] = [[from]];
  while (queue.length) {
    const path = queue.shift()!;
    const last = path[path.length - 1]!;
    if (last === to) return path;
    for (const next of edges.get(last)?.keys() ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push([...path, next]);
      }
    }
  }
  return undefined;
}
