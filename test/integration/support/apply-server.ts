// gen apply over a real OpenSSH server on 127.0.0.1 (a fake root, stand-ins for systemctl and nginx -t): the
// managed paths of the test environment and the helpers the apply test files share.
import assert from "node:assert/strict";
import { lstat, readFile, readlink } from "node:fs/promises";
import { applyPlan } from "../../../src/apply/apply-plan.js";
import { loadEnvironment } from "../../../src/load/load-environment.js";
import { planChanges } from "../../../src/plan/plan-changes.js";
import type { HostPlan } from "../../../src/plan/plan-types.js";
import { readServerState } from "../../../src/plan/server-state.js";
import { renderEnvironment } from "../../../src/render/render-environment.js";
import { environmentHosts, openTransport } from "../../../src/transport/open-transport.js";
import { startGenServer, type GenServer, type GenServerOptions } from "./gen-server.js";

export const STATE = "/var/lib/gen/tsosi";
export const SUDOERS = "/etc/sudoers.d/tsosi";
export const SETTINGS = "/home/gen-test/config/settings_local.py";
export const SITE = "/etc/nginx/sites-available/tsosi";
export const SITE_LINK = "/etc/nginx/sites-enabled/tsosi";
export const LOGROTATE = "/etc/logrotate.d/tsosi";
export const UNITS = "/etc/systemd/system";
export const MANAGED = [
  SUDOERS,
  SETTINGS,
  SITE,
  SITE_LINK,
  LOGROTATE,
  `${UNITS}/tsosi_gunicorn.socket`,
  `${UNITS}/tsosi_gunicorn.service`,
  `${UNITS}/tsosi_gunicorn_handover.service`,
  `${UNITS}/tsosi_celery.service`,
  `${UNITS}/tsosi_celery_beat.service`,
];

export async function withServer(test: (server: GenServer) => Promise<void>, options: GenServerOptions = {}): Promise<void> {
  const server = await startGenServer(options);
  try {
    await test(server);
  } finally {
    await server.stop();
  }
}

export async function apply(server: GenServer, ...extra: string[]) {
  return server.gen(["apply", "t", "--yes", ...extra]);
}

export async function appliedOnce(server: GenServer): Promise<void> {
  const run = await apply(server);
  assert.equal(run.code, 0, run.all);
  await server.clearRecorded();
}

/** Content of every managed file on the server (the link as "-> target"); absent files are left out. */
export async function snapshot(server: GenServer): Promise<Record<string, string>> {
  const entries = await Promise.all(
    MANAGED.map(async (path) => {
      const file = server.file(path);
      const info = await lstat(file).catch(() => undefined);
      if (!info) return undefined;
      const content = info.isSymbolicLink() ? `-> ${await readlink(file)}` : await readFile(file, "utf8");
      return [path, `${(info.mode & 0o7777).toString(8)} ${info.uid}:${info.gid}\n${content}`] as const;
    }),
  );
  return Object.fromEntries(entries.filter((e) => e !== undefined));
}

export type RenderedFiles = ReturnType<typeof renderEnvironment>["files"];

/**
 * applyPlan as the CLI calls it, with the plan of `reviewed` (a file set and the server as they were at the review),
 * after `meanwhile` (given that plan) changed the server; then `applied` is what the environment renders at the apply.
 */
export async function applyAfterReview(
  server: GenServer,
  options: {
    reviewed?: (files: RenderedFiles) => RenderedFiles;
    meanwhile?: (reviewed: HostPlan) => Promise<void>;
    applied?: (files: RenderedFiles) => RenderedFiles;
  },
) {
  const loaded = await loadEnvironment("t", { environmentsDir: server.envDir });
  const env = loaded.environment;
  const rendered = renderEnvironment({
    name: "t",
    environment: env,
    secrets: loaded.secrets.lookup,
    environmentsDir: loaded.environmentsDir,
    source: loaded.source,
  });
  const folders = rendered.manifest.folders;
  const host = environmentHosts(env, "t")[0]!;
  const transport = await openTransport(env, host, {
    projectDir: server.tempDir,
    envName: "t",
    knownHostsPath: server.sshd.knownHostsPath,
    identityFile: server.sshd.clientKeyPath,
  });
  try {
    const files = options.reviewed?.(rendered.files) ?? rendered.files;
    const state = await readServerState(transport, files, folders, env.server.stateDir);
    const reviewed = planChanges("t", files, folders, [{ host: host.name, roles: host.roles, state }]).hosts[0]!;
    await options.meanwhile?.(reviewed);
    return await applyPlan(
      { envName: "t", environment: env, reviewed, rendered: options.applied?.(rendered.files) ?? rendered.files, folders, forceUnlock: false },
      { transport, now: () => new Date(), who: "test@integration", pid: process.pid, progress: () => {} },
    );
  } finally {
    await transport.close();
  }
}
