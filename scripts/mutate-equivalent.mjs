// Mutants that no test can kill because they change nothing gen does (README, "Mutation testing", says why, by
// module). scripts/mutate.mjs leaves them out of the score and lists them apart. Each is known by its file, its
// mutator, the code it replaces and its replacement, so that a line moving keeps it; an entry that matches no mutant
// any more (the code changed) is reported as stale.
const SHAPE_START = "shape() compares two different lines: the loop stops at their first difference, before the end of either";
const SHAPE_END = "once the end reaches what follows the common start in the shown line, the middle is empty: no placeholder, no shape";

export const EQUIVALENT = [
  {
    file: "src/secrets/known.ts",
    mutator: "ConditionalExpression",
    original: "known.get(value) === name",
    replacement: "false",
    why: "only spares rebuilding the redactor for a value already known under that name: rebuilt, it is the same",
  },
  {
    file: "src/secrets/placeholder.ts",
    mutator: "Regex",
    original: "/\\]$/",
    replacement: "/\\]/",
    why: "differentValue is only given a placeholder (isPlaceholder), whose one `]` is its last character",
  },
  {
    file: "src/secrets/redact.ts",
    mutator: "ConditionalExpression",
    original: "real === display",
    replacement: "false",
    why: "shape() of two equal lines finds an empty middle, which is no placeholder: no shape, as when it is not called",
  },
  ...[
    ["ConditionalExpression", "start < real.length && start < display.length", "true"],
    ["LogicalOperator", "start < real.length && start < display.length", "start < real.length || start < display.length"],
    ["ConditionalExpression", "start < real.length", "true"],
    ["EqualityOperator", "start < real.length", "start <= real.length"],
    ["ConditionalExpression", "start < display.length", "true"],
    ["EqualityOperator", "start < display.length", "start <= display.length"],
  ].map(([mutator, original, replacement]) => ({ file: "src/secrets/redact.ts", mutator, original, replacement, why: SHAPE_START })),
  {
    file: "src/server/lock-holder.ts",
    mutator: "BlockStatement",
    original: "{\n    return undefined;\n  }",
    replacement: "{}",
    why: "the catch block is the function's last statement: without its return the function returns undefined all the same",
  },
  ...[
    ["ConditionalExpression", 'root === "/"', "false"],
    ["StringLiteral", '"/"', '""'],
  ].map(([mutator, original, replacement]) => ({
    file: "src/server/safe-read.ts",
    mutator,
    original,
    replacement,
    why: 'readRoot: "/" with its trailing slashes removed is "" too, the answer of the special case',
  })),
  {
    file: "src/server/link-safe.ts",
    mutator: "MethodExpression",
    original: "[...new Set(paths.flatMap(pathComponents))].sort()",
    replacement: "[...new Set(paths.flatMap(pathComponents))]",
    why: "each component is tested by a line of its own that prints a record of its own: the order changes only the order the links found are listed in, never which",
  },
  ...[
    ["parsed.value.holder.trim()", "parsed.value.holder"],
    ["answer.holder.trim()", "answer.holder"],
  ].map(([original, replacement]) => ({
    file: "src/server/lock.ts",
    mutator: "MethodExpression",
    original,
    replacement,
    why: "the holder only reaches parseLockHolder and describeLockHolder, whose JSON.parse skips white space, and a holder that is not JSON is described by a fixed text; $(...) already dropped its trailing newlines",
  })),
  ...[
    ["EqualityOperator", "a.id < b.id", "a.id <= b.id"],
    ["ConditionalExpression", "a.id > b.id", "true"],
    ["EqualityOperator", "a.id > b.id", "a.id >= b.id"],
  ].map(([mutator, original, replacement]) => ({
    file: "src/release/release-history.ts",
    mutator,
    original,
    replacement,
    why: "previousGoodRelease sorts release ids, which are folder names and so never equal: the comparator differs only for equal ids",
  })),
  ...[
    ["ConditionalExpression", "plan.removed.length > 0", "true"],
    ["EqualityOperator", "plan.removed.length > 0", "plan.removed.length >= 0"],
  ].map(([mutator, original, replacement]) => ({
    file: "src/release/releases.ts",
    mutator,
    original,
    replacement,
    why: "with nothing to remove the step is `rm -rf` with no operand, which does nothing and succeeds: one step more in the round trip",
  })),
  ...[
    ["ConditionalExpression", "created !== SKIPPED && created.ok", "true"],
    ["LogicalOperator", "created !== SKIPPED && created.ok", "created !== SKIPPED || created.ok"],
    ["ConditionalExpression", "created !== SKIPPED", "true"],
  ].map(([mutator, original, replacement]) => ({
    file: "src/release/deploy-release.ts",
    mutator,
    original,
    replacement,
    why: 'the test that follows is created.value === "taken": a skipped answer (a symbol) or a failed one has no value, so the release id is not taken either way; the guards are the type checker\'s',
  })),
  ...[
    ["ConditionalExpression", "switched === SKIPPED", "false"],
    ["ConditionalExpression", "restarts === SKIPPED", "false"],
    ["ConditionalExpression", "checks === SKIPPED", "false"],
  ].map(([mutator, original, replacement]) => ({
    file: "src/release/deploy-release.ts",
    mutator,
    original,
    replacement,
    why: "a chain skips what follows a failed step only: deployment.json's failure returns before the switch is read, a failed switch (or switch back: runStep throws) before the restarts are, and a failed restart (step 7 throws) before the checks are",
  })),
  {
    file: "src/release/deploy-release.ts",
    mutator: "StringLiteral",
    original: '"new"',
    replacement: '""',
    why: 'current is only ever compared with "old" (whether the half-made release is removed)',
  },
  {
    file: "src/release/deploy-release.ts",
    mutator: "ConditionalExpression",
    original: "pruned?.previous",
    replacement: "true",
    why: "previousGood set to undefined: --json leaves it out and the text tests it for truth, as when it is not set",
  },
  ...[
    ["ConditionalExpression", "pruned.removed.length > 0", "true"],
    ["EqualityOperator", "pruned.removed.length > 0", "pruned.removed.length >= 0"],
  ].map(([mutator, original, replacement]) => ({
    file: "src/release/deploy-release.ts",
    mutator,
    original,
    replacement,
    why: "with nothing to remove the step is `rm -rf` with no operand, which does nothing and succeeds, in the same round trip",
  })),
  ...[
    ["ConditionalExpression", "Math.floor(now().getTime() / 1000) === second", "true"],
    ["EqualityOperator", "performance.now() < giveUp", "performance.now() <= giveUp"],
    ["ArithmeticOperator", "1000 - now().getUTCMilliseconds()", "1000 + now().getUTCMilliseconds()"],
  ].map(([mutator, original, replacement]) => ({
    file: "src/release/deploy-release.ts",
    mutator,
    original,
    replacement,
    why: "nextSecond: only how long a deploy whose release id was taken waits (up to its 1.5 s bound) before it looks at the clock again; the id it then takes is the same. Timing is the bench's, not a test's",
  })),
  ...[
    ["ConditionalExpression", "end < display.length - start", "true"],
    ["EqualityOperator", "end < display.length - start", "end <= display.length - start"],
    ["ArithmeticOperator", "display.length - start", "display.length + start"],
  ].map(([mutator, original, replacement]) => ({ file: "src/secrets/redact.ts", mutator, original, replacement, why: SHAPE_END })),
];
