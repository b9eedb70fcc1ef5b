// Mutation testing of the modules that hold gen's promises, with StrykerJS (npm run mutate; not part of .ci/run).
//
//   npm run mutate                        every module, one after another
//   npm run mutate -- secrets release     those modules
//   npm run mutate -- --concurrency 2     test processes at once (default 1: the machine is shared)
//   npm run mutate -- --full              every mutant again (default: incremental, Stryker runs again only the
//                                         mutants whose code or tests changed since the module's last run)
//   npm run mutate -- --table             the score table of the last reports, without running anything
//   npm run mutate -- --table --survivors the table and each mutant no test killed (file:line, mutator, replacement)
//
// Each module names the code it mutates and the compiled test files that may kill its mutants. Stryker works in a
// copy of the checkout (a sandbox under .stryker-tmp/, removed afterwards), so the working tree is never edited; it
// builds the copy with tsc (and the bundle, for modules whose tests run the gen bin), runs the tests once to see which
// test file reaches which mutant (children included: scripts/mutate-child-coverage.cjs), then runs, for each mutant,
// only those files. Reports: reports/mutation/<module>.json and .html (gitignored).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { EQUIVALENT } from "./mutate-equivalent.mjs";

const TSC = "node scripts/mutate-build.mjs";
const BUNDLE = "node scripts/mutate-build.mjs bundle";

/** The functions of a file as Stryker ranges (file:first-last line), found by name so that edits above do not shift them. */
function functions(file, names) {
  return names.map((name) =>
    rangeOf(
      file,
      (line) => new RegExp(`^(export )?(async )?function ${name}\\b`).test(line),
      (line) => line === "}",
      `top-level function ${name}`,
    ),
  );
}

/** The lines of a file from the one that is `first` to the next that is `last`, as a Stryker range. */
function linesFrom(file, first, last) {
  return rangeOf(
    file,
    (line) => line === first,
    (line) => line === last,
    `lines from ${JSON.stringify(first)} to ${JSON.stringify(last)}`,
  );
}

/** From the first line that `isFirst` to the next that `isLast`, as a Stryker range; `what` names it when missing. */
function rangeOf(file, isFirst, isLast, what) {
  const lines = readFileSync(file, "utf8").split("\n");
  const start = lines.findIndex(isFirst);
  const end = lines.findIndex((line, i) => i > start && isLast(line));
  if (start < 0 || end < 0) throw new Error(`${file}: no ${what}`);
  return `${file}:${start + 1}-${end + 1}`;
}

/** Test files are compiled (dist/); the fast ones first, since a mutant's run stops at the first file that fails. */
const MODULES = {
  secrets: {
    mutate: () => ["src/secrets/**/*.ts", "!**/*.test.ts"],
    tests: ["src/secrets/*.test.js", "src/load/*.test.js", "src/render/*.test.js", "test/project/secrets.test.js", "test/project/output.test.js"],
    build: BUNDLE,
  },
  plan: {
    mutate: () => ["src/plan/plan-changes.ts", "src/plan/saved-plan.ts"],
    tests: ["src/plan/plan-changes.test.js", "src/plan/saved-plan.test.js", "src/apply/handlers.test.js", "test/integration/apply-reviewed.test.js"],
    build: BUNDLE,
  },
  apply: {
    mutate: () => [
      "src/apply/handlers.ts",
      ...functions("src/apply/apply-plan.ts", ["replanUnderLock", "driftFromReview", "reviewedRead"]),
      ...functions("src/apply/preflight.ts", ["changedEntries"]),
    ],
    tests: ["src/apply/handlers.test.js", "test/integration/apply-reviewed.test.js", "test/integration/apply-programs.test.js"],
    build: BUNDLE,
  },
  server: {
    mutate: () => ["src/server/lock-holder.ts", "src/server/lock.ts", "src/server/safe-read.ts", "src/server/link-safe.ts"],
    tests: [
      "src/server/lock-holder.test.js",
      "src/server/safe-read.test.js",
      "src/server/link-safe.test.js",
      "src/server/lock.test.js",
      "src/apply/step-parsers.test.js",
    ],
    build: TSC,
  },
  release: {
    mutate: () => [
      "src/release/release-history.ts",
      ...functions("src/release/releases.ts", ["previousRelease", "releasesToPrune", "planPrune", "removeReleasesStep", "pruneReleases"]),
    ],
    tests: ["src/release/release-history.test.js", "src/release/releases.test.js", "src/release/rollback-release.test.js"],
    build: BUNDLE,
  },
  deploy: {
    // Where deployLocked decides what a failure leaves: the taken release id, the verdicts after the switch (switch
    // back, remove the half-made release, the log's outcome); the rest of it is the happy path every test runs.
    mutate: () => [
      linesFrom("src/release/deploy-release.ts", '    if (created !== SKIPPED && created.ok && created.value === "taken") {', "    }"),
      linesFrom("src/release/deploy-release.ts", "    if (!finished.ok) {", "  if (effects.interrupt?.signal) result.interrupted = effects.interrupt.signal;"),
      ...functions("src/release/deploy-release.ts", ["nextSecond", "rollBackSwitch"]),
    ],
    tests: [
      "src/release/release-steps.test.js",
      "test/integration/deploy-user-content.test.js",
      "test/integration/smoke-check.test.js",
      "test/integration/interrupts-release.test.js",
      "test/integration/deploy.test.js",
    ],
    build: BUNDLE,
  },
};

function parseArgs(argv) {
  const options = { modules: [], concurrency: 1, table: false, survivors: false, full: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--concurrency") options.concurrency = Number(argv[++i]);
    else if (argv[i] === "--table") options.table = true;
    else if (argv[i] === "--survivors") options.survivors = true;
    else if (argv[i] === "--full") options.full = true;
    else if (argv[i] in MODULES) options.modules.push(argv[i]);
    else throw new Error(`unknown module or option ${argv[i]}; modules: ${Object.keys(MODULES).join(", ")}`);
  }
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new Error("--concurrency takes a whole number >= 1");
  if (options.modules.length === 0) options.modules = Object.keys(MODULES);
  return options;
}

/**
 * The compiled test files of a module's list, in its order: the tap runner runs a mutant's files in the order its glob
 * returns them, which for a wildcard is not the order given, so each wildcard is expanded here (from the sources).
 */
function testFiles(patterns) {
  return patterns.flatMap((pattern) => {
    const source = pattern.replace(/\.js$/, ".ts");
    if (!source.includes("*")) return [`dist/${pattern}`];
    const name = new RegExp(`^${basename(source).replaceAll(".", "\\.").replaceAll("*", "[^/]*")}$`);
    return readdirSync(dirname(source))
      .filter((file) => name.test(file))
      .sort()
      .map((file) => `dist/${dirname(source)}/${file.replace(/\.ts$/, ".js")}`);
  });
}

function strykerConfig(name, module, { concurrency, full }) {
  return {
    $schema: "../../node_modules/@stryker-mutator/core/schema/stryker-schema.json",
    testRunner: "tap",
    tap: {
      testFiles: testFiles(module.tests),
      nodeArgs: ["--require", resolve("scripts/mutate-child-coverage.cjs"), "--require", "{{hookFile}}", "--test-reporter=tap"],
      forceBail: true,
    },
    mutate: module.mutate(),
    buildCommand: module.build,
    coverageAnalysis: "perTest",
    // The machine is shared: a test file that takes twice as long as in the first run has not necessarily met an
    // endless loop.
    timeoutFactor: 2.5,
    timeoutMS: 20000,
    concurrency,
    // The golden trees hold links that lead nowhere on this machine (sites-enabled), which the sandbox copy cannot copy.
    ignorePatterns: ["/dist", "/out", "/.gen-local", "/reports", "/test/golden", "/test/golden.test.ts", "/test/real-server"],
    // Stryker would rewrite tsconfig.json through TypeScript's JS API, which TypeScript 7 (native) does not have.
    tsconfigFile: "no-tsconfig-rewrite.json",
    tempDirName: ".stryker-tmp",
    cleanTempDir: true,
    incremental: true,
    incrementalFile: `reports/stryker/${name}.incremental.json`,
    force: full,
    reporters: ["clear-text", "progress", "json", "html"],
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
    htmlReporter: { fileName: `reports/mutation/${name}.html` },
    clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  };
}

const COUNTED = ["Killed", "Timeout", "Survived", "NoCoverage"];

/** The code a mutant replaces (Stryker's locations: lines from 1, columns from 1, end exclusive). */
function replacedCode(lines, { start, end }) {
  const text = lines.slice(start.line - 1, end.line).join("\n");
  const last = text.lastIndexOf("\n") + 1;
  return text.slice(start.column - 1, (start.line === end.line ? 0 : last) + end.column - 1);
}

/** The mutants of a report by file, each with the code it replaces and, when it is one, its entry in EQUIVALENT. */
function mutantsOf(report) {
  return Object.entries(report.files)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, f]) => {
      const lines = f.source.split("\n");
      const mutants = f.mutants.map((m) => {
        const original = replacedCode(lines, m.location);
        const equivalent = EQUIVALENT.find((e) => e.file === path && e.mutator === m.mutatorName && e.original === original && e.replacement === m.replacement);
        return { ...m, path, original, equivalent };
      });
      return { path, mutants };
    });
}

function countsOf(mutants) {
  const counts = Object.fromEntries([...COUNTED, "Equivalent", "Ignored", "Errors"].map((k) => [k, 0]));
  for (const m of mutants) {
    if (m.equivalent && (m.status === "Survived" || m.status === "NoCoverage")) counts.Equivalent++;
    else if (COUNTED.includes(m.status) || m.status === "Ignored") counts[m.status]++;
    else counts.Errors++;
  }
  const detected = counts.Killed + counts.Timeout;
  const valid = detected + counts.Survived + counts.NoCoverage;
  // Stryker's own score counts the equivalent ones as survivors; gen's leaves them out.
  counts.stryker = valid + counts.Equivalent === 0 ? 100 : (100 * detected) / (valid + counts.Equivalent);
  counts.score = valid === 0 ? 100 : (100 * detected) / valid;
  return counts;
}

const COLUMNS = ["Killed", "Timeout", "Survived", "NoCoverage", "Equivalent", "Errors"];

function row(label, c) {
  const cells = [c.score.toFixed(1).padStart(6), c.stryker.toFixed(1).padStart(8), ...COLUMNS.map((k) => String(c[k]).padStart(8))];
  return `${label.padEnd(40)} ${cells.join(" ")}`;
}

function readReport(name) {
  const file = `reports/mutation/${name}.json`;
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : undefined;
}

function printTable(names) {
  const headers = ["score", "stryker", "killed", "timeout", "survived", "no cov", "equiv", "errors"];
  console.log(`${"module / file".padEnd(40)} ${headers.map((h, i) => h.padStart(i ? 8 : 6)).join(" ")}`);
  for (const name of names) {
    const report = readReport(name);
    if (!report) {
      console.log(`${name.padEnd(40)} (no report: npm run mutate -- ${name})`);
      continue;
    }
    const files = mutantsOf(report);
    console.log(row(name, countsOf(files.flatMap((f) => f.mutants))));
    for (const f of files) console.log(row(`  ${f.path}`, countsOf(f.mutants)));
  }
}

function printSurvivors(names) {
  const shorten = (text) => (text.length > 100 ? `${text.slice(0, 97)}...` : text).replaceAll("\n", "\\n");
  for (const name of names) {
    const report = readReport(name);
    if (!report) continue;
    const all = mutantsOf(report);
    for (const { mutants } of all) {
      const undetected = mutants.filter((m) => (m.status === "Survived" || m.status === "NoCoverage") && !m.equivalent);
      for (const m of undetected.sort((a, b) => a.location.start.line - b.location.start.line)) {
        const { line, column } = m.location.start;
        const status = m.status === "Survived" ? "survived" : "no cover";
        console.log(`${status} ${m.path}:${line}:${column} ${m.mutatorName}: ${shorten(m.original)} -> ${shorten(m.replacement ?? "")}`);
      }
    }
    const paths = new Set(all.map((f) => f.path));
    const matched = new Set(all.flatMap((f) => f.mutants.map((m) => m.equivalent)).filter(Boolean));
    for (const e of EQUIVALENT.filter((e) => paths.has(e.file) && !matched.has(e))) {
      console.log(`stale equivalent entry (no such mutant): ${e.file} ${e.mutator}: ${shorten(e.original)} -> ${shorten(e.replacement)}`);
    }
  }
}

const options = parseArgs(process.argv.slice(2));
if (!options.table) {
  mkdirSync("reports/stryker", { recursive: true });
  for (const name of options.modules) {
    const config = `reports/stryker/${name}.config.json`;
    writeFileSync(config, `${JSON.stringify(strykerConfig(name, MODULES[name], options), null, 2)}\n`);
    const run = spawnSync(process.execPath, ["node_modules/@stryker-mutator/core/bin/stryker.js", "run", config], { stdio: "inherit" });
    if (run.status !== 0) {
      console.error(`mutate: Stryker failed on ${name} (exit ${run.status ?? run.signal})`);
      process.exit(1);
    }
  }
}
printTable(options.modules);
if (options.survivors) printSurvivors(options.modules);
