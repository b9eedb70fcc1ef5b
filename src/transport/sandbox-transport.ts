// The sandbox as a host: a folder on this machine behind the same interface as a server (local.ts). What only a
// server's running system can do is not done: a serverOnly step (a service command, a check of the running services)
// is not run, a service command is recorded in .gen-sandbox/commands.log instead (sandbox.ts), and its answer says
// so (notRun). What only root can do is recorded: its steps run with GEN_OWNERS=recorded, which the server programs
// read as "do not chown", and the owners a step declares are recorded in .gen-sandbox/owners.json when it succeeds,
// which the plan reads back (recordedOwners). The stages send it the steps they send a server; only the answers
// tell them apart.
import { createLocalTransport } from "./local.js";
import { recordCommandScript, createSandbox } from "./sandbox.js";
import type { Step, Transport } from "./transport.js";

export function createSandboxTransport(root: string, now: () => Date = () => new Date()): Transport {
  const local = createLocalTransport(root, { label: "sandbox", env: { GEN_OWNERS: "recorded" } });
  const sandbox = createSandbox(local.root, now);
  const standIn = (step: Step): Step => {
    if (!step.serverOnly) return step;
    const { stdin: _input, serverOnly, script: _script, ...rest } = step;
    return { ...rest, script: serverOnly.record ? recordCommandScript(sandbox, [serverOnly.record.argv], serverOnly.record.why) : "exit 0" };
  };
  return {
    ...local,
    recordedOwners: () => sandbox.owners(),
    steps: async (steps, options) => {
      const results = await local.steps(steps.map(standIn), options);
      await sandbox.recordOwners(steps.flatMap((step, i) => (results[i]?.exitCode === 0 && !results[i]?.skipped ? (step.owners ?? []) : [])));
      // The same list, answered in order: a serverOnly step that was not skipped was stood in for.
      return results.map((result, i) => (steps[i]?.serverOnly && !result.skipped ? { ...result, notRun: true } : result));
    },
  };
}
