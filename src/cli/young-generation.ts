// V8's heap held back for a large environment (thousands of files), whose rendered files and the servers' answers
// about them would otherwise take most of a run's peak memory in heap V8 grows ahead of need:
// - V8 doubles its young generation (up to 2 x 16 MB) each time the bytes surviving its collections add up to its
//   size, which loading and rendering thousands of files soon does: growth factor 1 keeps it as it is. It is set
//   once the definition is read, before the environment is validated or taken from the cache: set once it was
//   loaded, the growth had already happened (2 x 8 MB kept).
// - The old generation may grow by half of what the last full collection left (V8's own factor goes up to 4x)
//   before the next one: the garbage of rendering is collected while rendering instead of after the heap grew past it.
// A diff of 5000 extra files (2026-12-06, 5 runs each, side by side): 121-132 MB with the young generation held back
// once loaded, 101-106 MB with both flags set once the definition is read and growth 100%, 99-102 MB with 50%, in
// about the same time (median 1.45 s against 1.41 s). The young generation held back alone, that early, still
// peaked at 117 MB. Not for every run: a V8 flag changed at run time makes V8 refuse Node's own code cache for the
// built-in modules loaded afterwards (and gen's, code-cache.ts): a render of an ordinary environment took 30M more
// instructions (4%) with either flag set by the launcher. Flags that change how the collector runs are not set at
// run time at all: --single-threaded-gc set so crashed V8. --optimize-for-size was tried as well: a diff of 5000
// extra files peaked at 114 MB instead of 130, but a diff of 1000 took 2.7 s instead of 1.1.

/** From this many files on, an environment is large. */
export const LARGE_ENVIRONMENT_FILES = 1000;

const HEAP_FLAGS = "--semi-space-growth-factor=1 --heap-growing-percent=50";

/** Global, not module state: the bundle's launcher is built apart from the CLI it runs and reads it after the run. */
const CHANGED = Symbol.for("gen.v8-flags-changed");

/** For loadEnvironment's onFileCount: holds the heap back when the definition names a large number of files. */
export function holdBackHeapFor(fileCount: number): void {
  if (fileCount < LARGE_ENVIRONMENT_FILES || v8FlagsChanged()) return;
  // Loaded here: the launcher imports this module, and loading node:v8 would cost every run.
  process.getBuiltinModule("node:v8").setFlagsFromString(HEAP_FLAGS);
  (globalThis as Record<symbol, unknown>)[CHANGED] = true;
}

/** Whether a V8 flag was changed during this run (V8 then refuses the code cache of scripts compiled before). */
export function v8FlagsChanged(): boolean {
  return (globalThis as Record<symbol, unknown>)[CHANGED] === true;
}
