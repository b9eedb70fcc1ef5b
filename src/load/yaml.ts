// The yaml package, loaded when first needed. It is CommonJS for Node: imported natively its functions are
// named exports, but bundled by esbuild they sit only on `default`, so both shapes are accepted.
import type * as Yaml from "yaml";

export async function loadYaml(): Promise<Pick<typeof Yaml, "parse" | "stringify">> {
  const module = (await import("yaml")) as typeof Yaml & { default?: typeof Yaml };
  return typeof module.parse === "function" ? module : module.default!;
}
