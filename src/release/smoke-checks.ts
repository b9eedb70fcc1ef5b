// Smoke checks: what must hold once a release is live, derived from the environment (socket, domain, listen
// address, static and media folders, Celery, certificate). smokeCheckSpec is pure; runSmokeChecks runs the spec on
// the server in one command (the sockets are server-local) and parses its one JSON record.
import type { Environment } from "../../schema/index.js";
import type { CheckName } from "../../schema/environment.js";
import type { ServerShell } from "../server/server-shell.js";
import { outputLines } from "../server/server-shell.js";
import { GenError } from "../errors.js";
import { checksRecord } from "../server/check-record.js";
import { SMOKE_SCRIPT } from "./smoke-script.js";

export interface CheckResult {
  name: CheckName;
  status: "ok" | "warn" | "fail";
  detail: string;
}

export interface SmokeSpecOptions {
  roles: string[];
  /** Celery answers a ping only when it runs: deploy asks it when it restarted it, `gen check` always. */
  celery: boolean;
  /** The server's "/" as commands see it (a root prefix in tests). */
  root: string;
}

export function smokeCheckNames(env: Environment, options: Pick<SmokeSpecOptions, "roles" | "celery">): CheckName[] {
  const web = options.roles.includes("web");
  const worker = options.roles.includes("worker");
  const names: CheckName[] = [
    ...(web ? (["gunicorn", "nginx", "static", "media"] as const) : []),
    ...(worker && options.celery ? (["celery"] as const) : []),
    ...(web && env.nginx.tls ? (["certificate"] as const) : []),
  ];
  return names.filter((name) => !env.checks.skip.includes(name));
}

/** The JSON the server script reads: every path already under the root prefix, the server path kept for messages. */
export function smokeCheckSpec(env: Environment, options: SmokeSpecOptions) {
  const under = (path: string) => `${options.root.replace(/\/+$/, "")}${path}`;
  const domain = env.app.domain;
  const backend = `${env.paths.current}/${env.paths.backendDir}`;
  return {
    order: smokeCheckNames(env, options),
    timeout: env.checks.timeoutSeconds,
    gunicorn: { socket: under(env.nginx.apiSocket), shownSocket: env.nginx.apiSocket, domain, path: env.checks.path },
    nginx: { host: env.checks.nginxAddress.host, port: env.checks.nginxAddress.port, tls: env.nginx.tls, domain, path: env.checks.path },
    static: {
      dir: under(`${env.paths.current}/${env.paths.staticDir}`),
      shownDir: `${env.paths.current}/${env.paths.staticDir}`,
      location: env.nginx.locations.static,
    },
    media: { root: options.root, path: env.nginx.mediaAlias, user: env.server.webUser },
    celery: { argv: [...env.celery.command, "-A", env.celery.app, "inspect", "ping", "--timeout", String(env.checks.timeoutSeconds)], cwd: under(backend) },
    certificate: { file: under(env.nginx.certificate), shownFile: env.nginx.certificate, days: env.checks.certificateDays },
  };
}

export type SmokeSpec = ReturnType<typeof smokeCheckSpec>;

export async function runSmokeChecks(shell: ServerShell, env: Environment, spec: SmokeSpec): Promise<CheckResult[]> {
  if (spec.order.length === 0) return [];
  // Nothing answers in the sandbox: its service commands are recorded, never run.
  if (shell.sandbox) return spec.order.map((name) => ({ name, status: "warn", detail: "not run in the sandbox (services are recorded, not started)" }));
  const result = await shell.transport.run(["python3", "-c", SMOKE_SCRIPT, JSON.stringify(spec)]);
  return parseSmokeRecord(result.stdout, result.exitCode, outputLines(result)).map((r) => withHint(r, env));
}

/** The socket is the web user's (0660): a release user outside its group is refused before Gunicorn is asked. */
function withHint(result: CheckResult, env: Environment): CheckResult {
  if (result.name !== "gunicorn" || !/PermissionError/.test(result.detail)) return result;
  const group = env.gunicorn.socketGroup;
  const user = env.release.sshUser ?? env.server.deployUser;
  return { ...result, detail: `${result.detail}; ${user} may not connect to the socket: add it to group ${group} (usermod -aG ${group} ${user})` };
}

export function parseSmokeRecord(stdout: string, exitCode: number, lines: string[]): CheckResult[] {
  const checks = checksRecord<CheckResult>(stdout, exitCode);
  if (checks) return checks;
  const hint = exitCode === 127 ? ["python3 is not installed on the server: apt-get install python3"] : [];
  throw new GenError(`the smoke checks did not run (exit ${exitCode})`, { details: [...hint, ...lines.slice(-10)] });
}

export const failedChecks = (results: CheckResult[]) => results.filter((r) => r.status === "fail");

export function describeCheck(result: CheckResult): string {
  return `${result.status === "ok" ? "ok  " : result.status === "warn" ? "warn" : "FAIL"} ${result.name}: ${result.detail}`;
}
