// V8 doubles its young generation (up to 2 x 16 MB) each time the bytes surviving its collections add up to its
// size, which a run keeping results for thousands of files soon does: that growth, not the rendered contents, was
// most of a large diff's peak memory. For an environment of ordinary size the growth is what keeps the collections
// of start-up few (about 15-20 ms of CPU per command), so it is held back only for a large environment, once it is
// loaded: the factor is read when V8 would grow the space, so that is in time (the semi-space size itself is fixed
// at start-up). --optimize-for-size was tried as well: a diff of 5000 extra files peaked at 114 MB instead of 130,
// but a diff of 1000 took 2.7 s instead of 1.1, and turned on only while rendering it saved nothing.

/** From this many rendered files on, the young generation grows one semi-space size at a time. */
export const LARGE_ENVIRONMENT_FILES = 1000;

/** Global, not module state: the bundle's launcher is built apart from the CLI it runs and reads it after the run. */
const CHANGED = Symbol.for("gen.v8-flags-changed");

export function holdBackYoungGeneration(): void {
  // Loaded here: the launcher imports this module, and loading node:v8 would cost every run.
  process.getBuiltinModule("node:v8").setFlagsFromString("--semi-space-growth-factor=1");
  (globalThis as Record<symbol, unknown>)[CHANGED] = true;
}

/** Whether a V8 flag was changed during this run (V8 then refuses the code cache of scripts compiled before). */
export function v8FlagsChanged(): boolean {
  return (globalThis as Record<symbol, unknown>)[CHANGED] === true;
}
