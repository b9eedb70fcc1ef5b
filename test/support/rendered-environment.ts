// An environment loaded and rendered as gen does, for tests that check what gen renders against a real tool.
import { type LoadedEnvironment, loadEnvironment } from "../../src/load/load-environment.js";
import { renderEnvironment } from "../../src/render/render-environment.js";
import type { RenderedFile } from "../../src/types.js";

export async function renderedEnvironment(
  name: string,
  environmentsDir: string,
  processEnv?: Record<string, string>,
): Promise<{ loaded: LoadedEnvironment; files: RenderedFile[] }> {
  const loaded = await loadEnvironment(name, { environmentsDir, ...(processEnv ? { processEnv } : {}) });
  const { files } = renderEnvironment({ name, environment: loaded.environment, secrets: loaded.secrets.lookup, environmentsDir: loaded.environmentsDir });
  return { loaded, files };
}
