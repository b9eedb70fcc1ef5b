// A server action as one value: its script, its input and the parser of its answer, as pyinfra pairs a fact's
// command with its own `process`. runSteps sends a list of them in one round trip and returns their typed results in
// a tuple that follows the list. How the answers line up with the steps, and how a chain's skipped steps read, is
// known here only: no caller takes answers apart by position.
//
// A part is a typed step or steps read together: each (a list), optional (a step that may not be there), chain (each
// part runs only when the one before succeeded), guardedBy (parts that run only when a guard succeeded: the steps
// that need the lock), both (two halves that each report all they find), combine (parts read into one value) and
// attempt (a part whose parse error is a value, not a throw). A step that may be skipped reads as SKIPPED, and its
// type says so.
import { GenError } from "../errors.js";
import type { Parsed } from "./step-records.js";
import type { Step, StepResult, Transport } from "./transport.js";

/**
 * A step's answer as text; `size`: stdout's length in bytes as it came (before decoding); `notRun`: a serverOnly step
 * that the host, a folder standing in for a server, did not run (status 0, no output).
 */
export interface StepOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
  size: number;
  notRun: boolean;
}

/** An answer as a group reads it: skipped when its chain or guard kept it from running. */
export interface StepAnswer extends StepOutput {
  skipped: boolean;
}

/** What a step sends: the chain flags are left to chain(), guardedBy() and both(), which type the skips they cause. */
export type StepScript = Omit<Step, "afterSuccess" | "guarded" | "joins">;

/** One server action: script, input and the parser of its answer in one value. */
export interface TypedStep<T> extends StepScript {
  /** The step's value from its answer, or an error naming the step. Never called for a step that did not run. */
  parse: (run: StepOutput) => Parsed<T>;
}

/** Several steps read as one value. */
export interface StepGroup<T> {
  readonly wire: readonly Step[];
  read: (answers: readonly StepAnswer[]) => Parsed<T>;
}

export type StepPart<T> = TypedStep<T> | StepGroup<T>;

/** What a step kept from running by its chain or its guard reads as. */
export const SKIPPED: unique symbol = Symbol("skipped");
export type Skipped = typeof SKIPPED;

export type ResultOf<P> = P extends TypedStep<infer T> ? T : P extends StepGroup<infer T> ? T : never;
export type ResultsOf<P extends readonly unknown[]> = { -readonly [K in keyof P]: ResultOf<P[K]> };
type Skippable<P extends readonly unknown[]> = { -readonly [K in keyof P]: ResultOf<P[K]> | Skipped };

/** Where steps go: a host's session, with or without sudo (stepSender), or a ServerShell. */
export interface StepSender {
  send(steps: Step[]): Promise<StepAnswer[]>;
}

/**
 * Sends every part in one round trip and returns their values in the order of `parts`; the first part (in that
 * order) whose answer cannot be read throws its error, naming the step.
 */
export async function runSteps<const P extends readonly StepPart<unknown>[]>(on: StepSender, parts: P): Promise<ResultsOf<P>> {
  const group = each(parts);
  if (group.wire.length === 0) return orThrow(group.read([])) as ResultsOf<P>;
  return orThrow(group.read(await on.send([...group.wire]))) as ResultsOf<P>;
}

/** One part in a round trip of its own. */
export async function runStep<T>(on: StepSender, part: StepPart<T>): Promise<T> {
  const [value] = await runSteps(on, [part]);
  return value as T;
}

/** A step read as its plain answer: status and output, for a caller that only looks (or a clean-up nobody waits on). */
export function plainStep(step: StepScript): TypedStep<StepOutput> {
  return { ...step, parse: (run) => ({ ok: true, value: run }) };
}

/** Every part as it is, each run whatever the others did. */
export function each<const P extends readonly StepPart<unknown>[]>(parts: P): StepGroup<ResultsOf<P>> {
  const groups = parts.map(asGroup);
  return {
    wire: groups.flatMap((g) => g.wire),
    read: (answers) => {
      const values: unknown[] = [];
      for (const [group, slice] of slices(groups, answers)) {
        const read = group.read(slice);
        if (!read.ok) return read;
        values.push(read.value);
      }
      return { ok: true, value: values as ResultsOf<P> };
    },
  };
}

/** Nothing sent when `part` is undefined, which is then its value: a step that is not always there keeps its place. */
export function optional(part: undefined): StepGroup<undefined>;
export function optional<T>(part: StepPart<T> | undefined): StepGroup<T | undefined>;
export function optional<T>(part: StepPart<T> | undefined): StepGroup<T | undefined> {
  if (part === undefined) return { wire: [], read: () => ({ ok: true, value: undefined }) };
  return asGroup(part);
}

/** The parts' values made into one (the probe's steps into the server's state). */
export function combine<const P extends readonly StepPart<unknown>[], T>(parts: P, join: (values: ResultsOf<P>) => Parsed<T>): StepGroup<T> {
  const group = each(parts);
  return { wire: group.wire, read: (answers) => then(group.read(answers), join) };
}

/** The part's value, or its parse error as a value: for a caller that must act before it throws (release a lock). */
export function attempt<T>(part: StepPart<T>): StepGroup<Parsed<T>> {
  const group = asGroup(part);
  return { wire: group.wire, read: (answers) => ({ ok: true, value: group.read(answers) }) };
}

/**
 * Each part runs only when the one sent before it succeeded, in one round trip: the first failure stops the rest. A
 * part that did not run reads as SKIPPED (an empty optional part counts for nothing).
 */
export function chain<F, const R extends readonly StepPart<unknown>[]>(first: StepPart<F>, ...rest: R): StepGroup<[F, ...Skippable<R>]> {
  const groups = [asGroup(first), ...rest.map(asGroup)];
  return chained(groups) as StepGroup<[F, ...Skippable<R>]>;
}

/** chain() over a list: each step runs only when the one before succeeded (handlers, restarts). */
export function chainEach<T>(parts: readonly StepPart<T>[]): StepGroup<(T | Skipped)[]> {
  return chained(parts.map(asGroup)) as StepGroup<(T | Skipped)[]>;
}

/**
 * `rest` runs only when the last step of `guard` succeeded, each of its steps whatever the others did (the steps that
 * need the lock); it reads as SKIPPED as a whole when it did not run. A chain in `rest` runs as each() does too: the
 * wire gives a step one mode, and theirs is the guard's (deploy's public folder step runs even where the release
 * folder was not made, and is written for it: build-release.ts).
 */
export function guardedBy<G, const R extends readonly StepPart<unknown>[]>(guard: StepPart<G>, ...rest: R): StepGroup<[G, ResultsOf<R> | Skipped]> {
  const head = asGroup(guard);
  const tail = each(rest);
  return {
    wire: [...head.wire, ...tail.wire.map((step) => ({ ...step, afterSuccess: false, joins: false, guarded: true }))],
    read: (answers) => {
      const own = head.read(answers.slice(0, head.wire.length));
      const restAnswers = answers.slice(head.wire.length);
      if (!own.ok) return own;
      if (restAnswers[0]?.skipped) return { ok: true, value: [own.value, SKIPPED] };
      return then(tail.read(restAnswers), (values) => ({ ok: true, value: [own.value, values] }));
    },
  };
}

/**
 * Two steps that each run and report all they find (preflight's halves); what is chained after them runs only when
 * both succeeded.
 */
export function both<A, B>(first: TypedStep<A>, second: TypedStep<B>): StepGroup<[A, B]> {
  return every<A | B>([first, second]) as StepGroup<[A, B]>;
}

/**
 * Steps that each run and report all they find (every check of the staged files); what is chained after them runs only
 * when every one succeeded, so the server itself decides whether to go on.
 */
export function every<T>(steps: readonly TypedStep<T>[]): StepGroup<T[]> {
  const groups = steps.map(asGroup);
  return {
    wire: groups.map((group, i) => (i === 0 ? group.wire[0]! : { ...group.wire[0]!, joins: true })),
    read: (answers) => {
      const values: T[] = [];
      for (const [i, group] of groups.entries()) {
        const read = group.read(answers.slice(i, i + 1));
        if (!read.ok) return read;
        values.push(read.value);
      }
      return { ok: true, value: values };
    },
  };
}

/** The answers of the steps of a host's session (with sudo or not), as text. `prologue` goes before every script. */
export function stepSender(transport: Transport, options: { sudo: boolean; prologue?: string }): StepSender {
  const prologue = options.prologue ?? "";
  return {
    send: async (steps) =>
      (await transport.steps(prologue ? steps.map((step) => ({ ...step, script: `${prologue}${step.script}` })) : steps, { sudo: options.sudo })).map(asText),
  };
}

function asText(result: StepResult): StepAnswer {
  return {
    exitCode: result.exitCode,
    stdout: result.stdout.toString("utf8"),
    stderr: result.stderr.toString("utf8"),
    size: result.stdout.length,
    notRun: result.notRun ?? false,
    skipped: result.skipped ?? false,
  };
}

function asGroup<T>(part: StepPart<T>): StepGroup<T> {
  if ("wire" in part) return part;
  const { parse, ...step } = part;
  return {
    wire: [step],
    // Only chain() and guardedBy() mark a step so that it may be skipped, and they read a skipped one themselves.
    read: ([answer]) => (answer?.skipped ? { ok: false, error: new GenError(`internal error: ${step.name} was skipped`) } : parse(answer!)),
  };
}

function chained(groups: StepGroup<unknown>[]): StepGroup<unknown[]> {
  let started = false;
  const marked = groups.map((group) => {
    if (group.wire.length === 0) return group;
    const [head, ...tail] = group.wire;
    const wire = started ? [{ ...head!, afterSuccess: true, guarded: false, joins: false }, ...tail] : group.wire;
    started = true;
    return { ...group, wire };
  });
  return {
    wire: marked.flatMap((g) => g.wire),
    read: (answers) => {
      const values: unknown[] = [];
      for (const [group, slice] of slices(marked, answers)) {
        if (slice[0]?.skipped) {
          values.push(SKIPPED);
          continue;
        }
        const read = group.read(slice);
        if (!read.ok) return read;
        values.push(read.value);
      }
      return { ok: true, value: values };
    },
  };
}

/** Each group with its own answers, in order. */
function slices<G extends StepGroup<unknown>>(groups: readonly G[], answers: readonly StepAnswer[]): [G, readonly StepAnswer[]][] {
  let at = 0;
  return groups.map((group) => [group, answers.slice(at, (at += group.wire.length))]);
}

function then<A, B>(parsed: Parsed<A>, next: (value: A) => Parsed<B>): Parsed<B> {
  return parsed.ok ? next(parsed.value) : parsed;
}

function orThrow<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}
