// V8's heap settings for a gen run, set by the launcher before it compiles anything: V8 refuses a code cache made
// under other flags, so a flag changed later in a run would cost the code cache of every script compiled after it.
// Both bound what a large environment (thousands of files) keeps in memory; for an ordinary one they cost a
// render one more scavenge (under a millisecond) and no full collection. Measured on a diff of 5000 extra files
// (peak RSS, 2026-12-06): 120 MB with neither, 104 with the first, 96-99 with both.
// - V8 doubles its young generation (up to 2 x 16 MB) each time the bytes surviving its collections add up to its
//   size, which loading and rendering thousands of files soon does: growth factor 1 keeps it at 2 x 1 MB. Set only
//   once such an environment was loaded (as gen did before), the growth had already happened.
// - The old generation may grow to twice what the last full collection left (V8's own factor goes up to 4) before
//   the next one: a render's garbage is collected while rendering instead of after the heap grew past it.
// --optimize-for-size was tried as well: a diff of 5000 extra files peaked at 114 MB instead of 130, but a diff of
// 1000 took 2.7 s instead of 1.1.
const HEAP_FLAGS = "--semi-space-growth-factor=1 --heap-growing-percent=100";

export function configureHeap(): void {
  process.getBuiltinModule("node:v8").setFlagsFromString(HEAP_FLAGS);
}
