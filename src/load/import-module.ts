// import() of a module the bundle does not hold (an environment file compiled to a data: URL). The bundled CLI runs
// as a script compiled with node:vm, which has no import() of its own: scripts/bundle.mjs replaces this module with
// the launcher's import() (src/cli/launcher.ts).
export const importModule = (specifier: string): Promise<unknown> => import(specifier);
