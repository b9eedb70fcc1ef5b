import { after, before, describe } from "node:test";
import { sshOptionsFor } from "../../test/support/ssh-options.js";
import { startSshd, type SshdHandle } from "../../test/support/sshd.js";
import { transportContract } from "../../test/support/transport-contract.js";
import { connectSsh } from "./ssh.js";
import type { Transport } from "./transport.js";

describe("ssh transport against a real sshd (root)", () => {
  let sshd: SshdHandle;
  let transport: Transport;
  before(async () => {
    sshd = await startSshd();
    transport = await connectSsh(sshOptionsFor(sshd));
  });
  after(async () => {
    await transport?.close();
    await sshd?.stop();
  });
  transportContract(() => ({ transport, rootDir: sshd.rootDir }));
});
