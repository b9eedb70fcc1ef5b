// A temp folder standing in for a server's `/`, reached through the local transport (the real sh, no sshd), for the
// unit tests of step builders and parsers; closed and removed when the test file ends.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { createLocalTransport } from "../../src/transport/local.js";
import type { Transport } from "../../src/transport/transport.js";

/** `env`: more environment for the session's steps (GEN_OWNERS=recorded, as the sandbox sets it). */
export function localServer(name: string, env?: Record<string, string>): { root: string; transport: Transport } {
  const root = mkdtempSync(join(tmpdir(), `gen-${name}-`));
  const transport = createLocalTransport(root, env ? { env } : {});
  after(async () => {
    await transport.close();
    rmSync(root, { recursive: true, force: true });
  });
  return { root, transport };
}
