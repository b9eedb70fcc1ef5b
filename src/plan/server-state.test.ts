// Reading the server's state through the local transport in a temp folder: the content of the files that differ
// comes back whole with the probe, in its one round trip, as the probe read it.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { localServer } from "../../test/support/local-server.js";
import type { RenderedFile } from "../types.js";
import { chain, plainStep, runStep, SKIPPED, stepSender } from "../transport/typed-steps.js";
import { probeRequest, readServerState, stateFromProbe } from "./server-state.js";

const { root, transport } = localServer("server-state");
mkdirSync(join(root, "etc"));

const rendered = (path: string, content: string): RenderedFile =>
  ({
    path,
    kind: "extra",
    content,
    mode: "0644",
    owner: "root",
    group: "root",
    secret: false,
    roles: ["web"],
    handlers: { reload: [], restart: [] },
  }) as unknown as RenderedFile;
const files = [rendered("/etc/a.conf", "rendered a\n"), rendered("/etc/b.conf", "rendered b\n"), rendered("/etc/same.conf", "same\n")];
const onServer = { "/etc/a.conf": "server a, é\nsecond line\n", "/etc/b.conf": "", "/etc/same.conf": "same\n" };

function writeServer(contents: Record<string, string>): void {
  for (const [path, content] of Object.entries(contents)) writeFileSync(join(root, path), content);
}

function contentOf(state: Awaited<ReturnType<typeof readServerState>>, path: string): unknown {
  const file = state.files.get(path);
  return file?.status === "ok" ? file.content : file?.status;
}

describe("reading the server's state", () => {
  test("the files that differ come back whole; an unchanged one is not read", async () => {
    writeServer(onServer);
    const state = await readServerState(transport, files, [], "/state");
    assert.deepEqual(
      files.map((f) => contentOf(state, f.path)),
      [onServer["/etc/a.conf"], "", undefined],
    );
  });

  test("in one round trip: the content of the files that differ comes with the probe, as it read them", async () => {
    writeServer(onServer);
    const sent: number[] = [];
    const counted = {
      ...transport,
      steps: (steps: Parameters<typeof transport.steps>[0], options?: Parameters<typeof transport.steps>[1]) => (
        sent.push(steps.length), transport.steps(steps, options)
      ),
    };
    const probe = await runStep(stepSender(counted, { sudo: false }), probeRequest(counted, files, [], "/state"));
    writeServer({ "/etc/a.conf": "changed after the probe\n" });
    rmSync(join(root, "etc/b.conf"));
    const state = await stateFromProbe(counted, files, [], probe, { sudo: false });
    assert.deepEqual(
      files.map((f) => contentOf(state, f.path)),
      [onServer["/etc/a.conf"], "", undefined],
    );
    assert.deepEqual(sent, [1]);
  });

  test("a digest of what the plan depends on: read again under one's own lock it matches; once a file changed, the probe fails and what is chained after it does not run", async () => {
    writeServer(onServer);
    const state = await readServerState(transport, files, [], "/state");
    assert.match(state.digest ?? "", /^[0-9a-f]{64}$/);
    mkdirSync(join(root, "state/locks/lock"), { recursive: true });
    const underLock = () =>
      runStep(
        stepSender(transport, { sudo: false }),
        chain(probeRequest(transport, files, [], "/state", true, false, state.digest), plainStep({ name: "the install", script: "echo ran" })),
      );
    const [same, ran] = await underLock();
    assert.deepEqual([same.drifted, same.digest, ran === SKIPPED ? SKIPPED : ran.stdout], [false, state.digest, "ran\n"]);
    writeServer({ "/etc/same.conf": "edited after the review\n" });
    const [drifted, skipped] = await underLock();
    assert.deepEqual([drifted.drifted, skipped], [true, SKIPPED]);
    assert.notEqual(drifted.digest, state.digest);
    rmSync(join(root, "state"), { recursive: true });
  });
});
