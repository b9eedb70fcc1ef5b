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
  ...[
    ["ConditionalExpression", "end < display.length - start", "true"],
    ["EqualityOperator", "end < display.length - start", "end <= display.length - start"],
    ["ArithmeticOperator", "display.length - start", "display.length + start"],
  ].map(([mutator, original, replacement]) => ({ file: "src/secrets/redact.ts", mutator, original, replacement, why: SHAPE_END })),
];
