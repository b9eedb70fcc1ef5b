import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { transportContract } from "../../test/support/transport-contract.js";
import { createLocalTransport } from "./local.js";
import type { Transport } from "./transport.js";

describe("local transport", () => {
  let rootDir: string;
  let transport: Transport;
  before(async () => {
    rootDir = await mkdtemp(join(tmpdir(), "gen-local-"));
    transport = createLocalTransport(rootDir);
  });
  after(async () => {
    await transport.close();
    await rm(rootDir, { recursive: true, force: true });
  });
  transportContract(() => ({ transport, rootDir }));
});
