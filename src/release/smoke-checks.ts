// Smoke checks: what must hold once a release is live, derived from the environment (socket, domain, listen
// address, static and media folders, Celery, certificate; media and Celery only when the environment has them). smokeCheckSpec is pure; runSmokeChecks runs the spec on
// the server in one command (the sockets are server-local) and parses its one JSON record. A check of a service
// that may still be starting waits for it up to checks.timeoutSeconds, unless its unit stopped. The server's half is
// smoke_checks.py beside this module (Python 3, standard library only: the server runs a Python application).
import type { Environment } from "../../schema/index.js";
import type { CheckName } from "../../schema/environment.js";
import { outputLines, type ServerShell } from "../server/server-shell.js";
import { GenError } from "../errors.js";
import { checksRecord } from "../server/check-record.js";
import { programText } from "../program-text.js";
import type { Parsed } from "../transport/step-records.js";
import type { CommandResult } from "../transport/transport.js";
import { runStep, type TypedStep } from "../transport/typed-steps.js";
import { visibleText } from "../server/server-text.js";

export interface CheckResult {
  name: CheckName;
  status: "ok" | "warn" | "fail";
  detail: string;
  /** The last journal lines of the unit that stopped (the application's own output: shown as text, escaped). */
  journal?: string[];
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
    ...(web ? (["gunicorn", "nginx", "static"] as const) : []),
    ...(web && env.nginx.mediaAlias ? (["media"] as const) : []),
    ...(worker && options.celery && env.celery ? (["celery"] as const) : []),
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
    media: env.nginx.mediaAlias ? { root: options.root, path: env.nginx.mediaAlias, user: env.server.webUser } : null,
    // One short ping per attempt, asked again until the worker answers (it connects to the broker after its
    // unit says it started: Type=forking returns first).
    celery: env.celery ? { argv: [...env.celery.command, "-A", env.celery.app, "inspect", "ping", "--timeout", "1"], cwd: under(backend) } : null,
    certificate: { file: under(env.nginx.certificate), shownFile: env.nginx.certificate, days: env.checks.certificateDays },
    units: {
      ...(options.roles.includes("web") ? { gunicorn: unitWatch(env, env.gunicorn.service, GUNICORN_EXITS) } : {}),
      ...(options.roles.includes("worker") && options.celery && env.celery ? { celery: unitWatch(env, env.celery.service, {}) } : {}),
    },
  };
}

/** What gunicorn's arbiter means by its exit status (gunicorn/arbiter.py: WORKER_BOOT_ERROR, APP_LOAD_ERROR). */
const GUNICORN_EXITS: Record<string, string> = { "3": "worker failed to boot", "4": "the application failed to load" };

/**
 * How the server program looks at a unit while a check waits: `systemctl show` needs no privilege; its journal
 * comes from `sudo -n systemctl status <unit>`, exactly as the sudoers drop-in allows it (root's status prints the
 * last 10 journal lines), and only when the drop-in allows it: a refused sudo is noise in the auth log.
 */
export function unitWatch(env: Environment, service: string, exitMeanings: Record<string, string>) {
  const systemctl = env.server.systemctl;
  const allowed = env.sudoers.rules.some((rule) => rule.service === service && rule.verbs.includes("status"));
  return {
    unit: `${service}.service`,
    show: [systemctl, "show", "-p", "ActiveState,SubState,Result,ExecMainStatus", service],
    status: allowed ? ["sudo", "-n", systemctl, "status", service] : null,
    exitMeanings,
  };
}

export type SmokeSpec = ReturnType<typeof smokeCheckSpec>;

export async function runSmokeChecks(shell: ServerShell, env: Environment, spec: SmokeSpec): Promise<CheckResult[]> {
  if (spec.order.length === 0) return [];
  return runStep(shell, smokeChecksStep(shell, env, spec));
}

/**
 * The smoke checks as one step: the server program, its spec on the command line, one JSON record back. A host that
 * stands in for a server (the sandbox) runs no services, so nothing answers there: each check is a warning.
 */
export function smokeChecksStep(shell: ServerShell, env: Environment, spec: SmokeSpec): TypedStep<CheckResult[]> {
  return {
    name: "running the smoke checks",
    script: `exec python3 -c ${shell.quote(smokeProgram())} ${shell.quote(JSON.stringify(spec))}`,
    serverOnly: {},
    parse: (run) => {
      if (run.notRun)
        return { ok: true, value: spec.order.map((name) => ({ name, status: "warn", detail: "not run in the sandbox (services are recorded, not started)" })) };
      const parsed = parseSmokeRecord(run);
      return parsed.ok ? { ok: true, value: parsed.value.map((r) => withHint(r, env)) } : parsed;
    },
  };
}

/** smoke_checks.py, run as `python3 -c` with the spec as its argument. */
export function smokeProgram(): string {
  return programText(import.meta.url, "./smoke_checks.py");
}

/** The socket is the web user's (0660): a release user outside its group is refused before Gunicorn is asked. */
function withHint(result: CheckResult, env: Environment): CheckResult {
  if (result.name !== "gunicorn" || !/PermissionError/.test(result.detail)) return result;
  const group = env.gunicorn.socketGroup;
  const user = env.release.sshUser ?? env.server.deployUser;
  return { ...result, detail: `${result.detail}; ${user} may not connect to the socket: add it to group ${group} (usermod -aG ${group} ${user})` };
}

export function parseSmokeRecord(run: CommandResult): Parsed<CheckResult[]> {
  const checks = checksRecord<CheckResult>(run.stdout, run.exitCode);
  if (checks) return { ok: true, value: checks.map(visibleCheck) };
  const hint = run.exitCode === 127 ? ["python3 is not installed on the server: apt-get install python3"] : [];
  return { ok: false, error: new GenError(`the smoke checks did not run (exit ${run.exitCode})`, { details: [...hint, ...outputLines(run).slice(-10)] }) };
}

/** At most this many journal lines of this many characters are kept from the server. */
const JOURNAL_LINES = 20;
const JOURNAL_LINE_CHARS = 400;

/** Details and journal lines hold server text (the application's output): bounded, control characters escaped. */
function visibleCheck(check: CheckResult): CheckResult {
  const journal = Array.isArray(check.journal) ? check.journal.filter((l) => typeof l === "string").slice(-JOURNAL_LINES) : [];
  return {
    name: check.name,
    status: check.status,
    detail: visibleText(String(check.detail).slice(0, 2000)),
    ...(journal.length > 0 ? { journal: journal.map((l) => visibleText(l.slice(0, JOURNAL_LINE_CHARS))) } : {}),
  };
}

export const failedChecks = (results: CheckResult[]) => results.filter((r) => r.status === "fail");

export function describeCheck(result: CheckResult): string {
  return `${result.status === "ok" ? "ok  " : result.status === "warn" ? "warn" : "FAIL"} ${result.name}: ${result.detail}`;
}

/** The check's line, then its unit's journal lines indented under it. */
export function describeCheckLines(result: CheckResult): string[] {
  return [describeCheck(result), ...(result.journal ?? []).map((line) => `    | ${line}`)];
}
