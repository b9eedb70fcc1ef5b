// The work of `gen releases`, loaded only when the command runs (keeps start-up small).
import { hostname, userInfo } from "node:os";
import { serverShell } from "../../apply/server-shell.js";
import { listReleases, readReleaseLog, type ReleaseInfo } from "../../release/releases.js";
import { rollbackRelease } from "../../release/rollback-release.js";
import { forEachHost } from "../../transport/open-transport.js";
import { connectOptions, type ConnectArgs } from "../connect-options.js";
import { loadWithoutSecrets, printSandboxNote } from "../environment-options.js";
import { printResult } from "../report.js";
import type { ExitCode } from "../../errors.js";
import type { GlobalOptions } from "../environment-options.js";
import type { Output } from "../report.js";

export async function runReleases(argv: ConnectArgs & { env: string } & GlobalOptions, output: Output): Promise<ExitCode> {
  const loaded = await loadWithoutSecrets(argv.env, argv);
  printSandboxNote(output, loaded);
  const env = loaded.environment;
  const outcomes = await forEachHost(env, { ...connectOptions(argv, argv.env), sshUser: env.release.sshUser ?? env.server.deployUser }, argv.concurrency, (transport) =>
    listReleasesWithLog(serverShell(transport, env, { sudo: false }), env),
  );
  if (argv.json) printResult(output, "releases", { environment: argv.env, hosts: outcomes.map((o) => (o.ok ? { host: o.host.name, releases: o.value } : { host: o.host.name, error: o.error })) }, (t) => t);
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
      const info = d ? `${d.branch ?? "?"} ${String(d.hash ?? "").slice(0, 12)} ${d.title ?? ""} (deployed ${d.deployedAt ?? "?"} by ${r.deployedBy ?? "?"})` : "(no deployment.json)";
      output.out(`${r.live ? "*" : " "} ${r.id}  ${info}`);
    }
  }
  return outcomes.every((o) => o.ok) ? 0 : 1;
}

/** The releases, each with who deployed it from the server's release log (deployment.json is public). */
async function listReleasesWithLog(shell: ReturnType<typeof serverShell>, env: Parameters<typeof listReleases>[1]) {
  const [releases, log] = await Promise.all([listReleases(shell, env), readReleaseLog(shell, env)]);
  return releases.map((r) => {
    const by = log.find((e) => e.command === "deploy" && e.release === r.id)?.who;
    return { ...r, ...(by ? { deployedBy: by } : {}) } as ReleaseInfo & { deployedBy?: string };
  });
}

export async function runRollback(argv: ConnectArgs & { env: string; to?: string; "celery-no-restart": boolean; "force-unlock": boolean } & GlobalOptions, output: Output): Promise<ExitCode> {
  const loaded = await loadWithoutSecrets(argv.env, argv);
  printSandboxNote(output, loaded);
  const env = loaded.environment;
  const who = `${userInfo().username}@${hostname()}`;
  const outcomes = await forEachHost(env, { ...connectOptions(argv, argv.env), sshUser: env.release.sshUser ?? env.server.deployUser }, argv.concurrency, (transport, host) =>
    rollbackRelease(env, { ...(argv.to ? { to: argv.to } : {}), restartCelery: !argv["celery-no-restart"], forceUnlock: argv["force-unlock"], roles: host.roles }, { transport, who, pid: process.pid, now: () => new Date() }),
  );
  if (argv.json) {
    const hosts = outcomes.map((o) => (o.ok ? { host: o.host.name, ok: true, from: o.value.from ?? null, to: o.value.to, restarted: o.value.restarted } : { host: o.host.name, ok: false, error: o.error }));
    printResult(output, "rollback", { environment: argv.env, hosts }, (t) => t);
  }
  for (const o of outcomes) {
    if (argv.json) break;
    if (o.ok) output.out(`${o.host.name}: ${o.value.from ?? "(none)"} -> ${o.value.to} is live; ${env.server.transport === "local" ? "recorded (sandbox, not run)" : "ran"} ${o.value.restarted.join("; ")}`);
    else output.err(`rollback failed on ${o.host.name}: ${o.error}`);
  }
  return outcomes.every((o) => o.ok) ? 0 : 1;
}

