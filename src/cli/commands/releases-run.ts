// The work of `gen releases`, loaded only when the command runs (keeps start-up small).
import { hostname, userInfo } from "node:os";
import { serverShell } from "../../server/server-shell.js";
import { listReleases, type ReleaseInfo, type ReleaseLogEntry } from "../../release/releases.js";
import { describeStatus } from "../../release/release-history.js";
import { rollbackRelease, type RollbackPlan } from "../../release/rollback-release.js";
import { summarizeMigrations, undoCommandLine } from "../../release/migrations.js";
import { GenError } from "../../errors.js";
import type { Environment } from "../../../schema/index.js";
import { forEachHost } from "../../transport/open-transport.js";
import { connectOptions, type ConnectArgs } from "../connect-options.js";
import { loadWithoutSecrets, printSandboxNote } from "../environment-options.js";
import { printCleanupWarnings, printResult } from "../report.js";
import type { ExitCode } from "../../errors.js";
import type { Interrupts } from "../../interrupt.js";
import { withInterrupts } from "../interrupts.js";
import type { GlobalOptions } from "../environment-options.js";
import type { Output } from "../report.js";

export async function runReleases(argv: ConnectArgs & { env: string } & GlobalOptions, output: Output): Promise<ExitCode> {
  const loaded = await loadWithoutSecrets(argv.env, argv);
  printSandboxNote(output, loaded);
  const env = loaded.environment;
  const outcomes = await forEachHost(
    env,
    { ...connectOptions(argv, argv.env), sshUser: env.release.sshUser ?? env.server.deployUser },
    argv.concurrency,
    (transport) => listReleases(serverShell(transport, env, { sudo: false }), env),
  );
  if (argv.json)
    printResult(output, "releases", {
      environment: argv.env,
      hosts: outcomes.map((o) => (o.ok ? { host: o.host.name, releases: o.value.map(releaseJson) } : { host: o.host.name, error: o.error })),
    });
  for (const o of outcomes) {
    if (argv.json) break;
    if (!o.ok) {
      output.err(`${o.host.name}: ${o.error}`);
      continue;
    }
    if (outcomes.length > 1) output.out(`# ${o.host.name}`);
    if (o.value.length === 0) output.out("no releases");
    for (const r of o.value) {
      const d = r.deployment as { hash?: string; title?: string; branch?: string; deployedAt?: string } | undefined;
      const info = d
        ? `${d.branch ?? "?"} ${String(d.hash ?? "").slice(0, 12)} ${d.title ?? ""} (deployed ${d.deployedAt ?? "?"} by ${r.deployedBy ?? "?"})`
        : "(no deployment.json)";
      output.out(`${r.live ? "*" : " "} ${r.id}  ${info}${releaseMarks(r)}`);
      if (r.migrations)
        output.out(
          `    migrations: ${
            summarizeMigrations(r.migrations)
              .map((m) => `${m.app} ${m.count} (last ${m.last})`)
              .join(", ") || "none applied"
          }`,
        );
    }
  }
  return outcomes.every((o) => o.ok) ? 0 : 1;
}

/** What the list says after a release that is not simply good: why rollback skips it, and what still uses it. */
function releaseMarks(r: ReleaseInfo): string {
  const marks = [...(r.status === "good" ? [] : [describeStatus(r.status)]), ...(r.inUse.length > 0 ? [`in use by pid ${r.inUse.join(", ")}`] : [])];
  return marks.map((m) => `  [${m}]`).join("");
}

function releaseJson(r: ReleaseInfo) {
  return {
    id: r.id,
    live: r.live,
    status: r.status,
    inUse: r.inUse,
    ...(r.deployment ? { deployment: r.deployment } : {}),
    ...(r.migrations ? { migrations: r.migrations } : {}),
    ...(r.deployedBy ? { deployedBy: r.deployedBy } : {}),
  };
}

type RollbackArgs = ConnectArgs & { env: string; to?: string; yes: boolean; "celery-no-restart": boolean; "force-unlock": boolean } & GlobalOptions;

export function runRollback(argv: RollbackArgs, output: Output): Promise<ExitCode> {
  return withInterrupts(output, "rollback", (interrupts) => rollbackWith(argv, output, interrupts));
}

async function rollbackWith(argv: RollbackArgs, output: Output, interrupts: Interrupts): Promise<ExitCode> {
  const loaded = await loadWithoutSecrets(argv.env, argv);
  printSandboxNote(output, loaded);
  const env = loaded.environment;
  const who = `${userInfo().username}@${hostname()}`;
  // One question at a time when several hosts roll back at once.
  let asking: Promise<unknown> = Promise.resolve();
  const confirmOn = (host: string) => (plan: RollbackPlan) => {
    const answer = asking.then(() => confirmRollback(env, host, plan, argv, output));
    asking = answer.catch(() => {});
    return answer;
  };
  const outcomes = await forEachHost(
    env,
    { ...connectOptions(argv, argv.env), sshUser: env.release.sshUser ?? env.server.deployUser },
    argv.concurrency,
    (transport, host) =>
      rollbackRelease(
        env,
        { ...(argv.to ? { to: argv.to } : {}), restartCelery: !argv["celery-no-restart"], forceUnlock: argv["force-unlock"], roles: host.roles },
        { transport, who, pid: process.pid, now: () => new Date(), confirm: confirmOn(host.name), interrupt: interrupts.forHost(host.name) },
      ),
    undefined,
    interrupts,
  );
  if (argv.json) {
    const hosts = outcomes.map((o) =>
      o.ok
        ? {
            host: o.host.name,
            ok: true,
            from: o.value.from ?? null,
            to: o.value.to,
            restarted: o.value.restarted,
            ...(o.value.recorded ? { recorded: o.value.recorded } : {}),
            undoMigrations: o.value.undo,
            migrationsUnrecorded: o.value.unrecorded,
            skipped: o.value.skipped,
            ...(o.value.targetStanding ? { targetStatus: o.value.targetStanding.status } : {}),
            ...(o.value.warnings ? { warnings: o.value.warnings } : {}),
            ...(o.value.interrupted ? { interrupted: o.value.interrupted } : {}),
          }
        : { host: o.host.name, ok: false, error: o.error, ...(o.interrupted ? { interrupted: o.interrupted } : {}) },
    );
    printResult(output, "rollback", { environment: argv.env, hosts });
  }
  for (const o of outcomes) {
    if (argv.json) break;
    if (o.ok)
      output.out(
        `${o.host.name}: ${o.value.from ?? "(none)"} -> ${o.value.to} is live${o.value.interrupted ? ` (${o.value.interrupted} came once current had switched: finished)` : ""}${o.value.restarted.length ? `; ran ${o.value.restarted.join("; ")}` : ""}${o.value.recorded?.length ? `; recorded (sandbox, not run) ${o.value.recorded.join("; ")}` : ""}`,
      );
    // Stopped before the switch: nothing changed there, the lock released.
    else if (o.interrupted) output.err(`${o.host.name}: rollback ${o.error}`);
    else output.err(`rollback failed on ${o.host.name}: ${o.error}`);
    if (o.ok) printCleanupWarnings(output, o.host.name, o.value.warnings);
  }
  // A lock or log left behind fails the command, as Terraform fails when it cannot release its state lock.
  return outcomes.every((o) => o.ok && !o.value.warnings?.length) ? 0 : 1;
}

/**
 * Names the migrations the target does not know and the commands that would undo them (gen never runs them: the
 * admin decides, and they need the live release's migration files, so before the switch), then asks. Nothing to
 * undo: no question, as before.
 */
async function confirmRollback(env: Environment, host: string, plan: RollbackPlan, argv: { yes: boolean; json?: boolean }, output: Output): Promise<boolean> {
  const say = (line: string) => output[argv.json ? "err" : "out"](line);
  for (const r of plan.skipped) say(`${host}: skipping ${r.id} (${describeStatus(r.status)})`);
  for (const id of plan.unrecorded) say(`${host}: ${id} has no migrations.json that gen wrote: the migrations it applied are not known`);
  // Named with --to: the operator's call. Said, not asked: a script that names its release keeps working.
  const standing = plan.targetStanding;
  if (standing) say(`${host}: warning: ${plan.to} is ${describeStatus(standing.status)}${recordText(plan.to, standing.record)}; switching to it as asked`);
  if (plan.undo.length === 0) return true;
  const backend = `${env.paths.releases}/${plan.from}/${env.paths.backendDir}`;
  say(`${host}: ${plan.from} applied migrations that ${plan.to} does not know; the database keeps them after the switch:`);
  for (const u of plan.undo) say(`  ${u.app}: ${u.unknown.join(", ")}`);
  say(`to undo them, run before switching (gen does not run them; check first that they are reversible):`);
  for (const u of plan.undo) say(`  ${undoCommandLine(backend, u)}`);
  if (argv.yes) return true;
  if (!process.stdin.isTTY)
    throw new GenError(`refusing to roll back to ${plan.to} without confirmation: no terminal to ask on; pass --yes to roll back non-interactively`);
  return output.confirm(`Switch ${host} to ${plan.to} with these migrations still applied?`);
}

/** " (its deploy at <at> by <who>: rolled-back: <error>)": the log's record that judged `id` (escaped text). */
function recordText(id: string, record: ReleaseLogEntry | undefined): string {
  if (!record) return "";
  const by = `at ${record.at} by ${record.who}`;
  if (record.command === "rollback" && record.from === id) return ` (the rollback from it to ${record.release} ${by})`;
  const what = record.command === "deploy" ? `its deploy ${by}` : `the rollback to it ${by}`;
  return ` (${what}: ${record.result}${record.error ? `: ${record.error.slice(0, 300)}` : ""})`;
}
