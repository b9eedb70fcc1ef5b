// `gen doctor`: whether a server is ready for the first apply. doctorSpec derives from the environment everything
// it assumes and gen does not create (users, groups, the release user in the Gunicorn socket's group and in one that
// reads the journal (a warning: gen logs needs it, apply and deploy do not), system units,
// Python, Poetry, PostgreSQL, Redis, certificates, disk space, the deploy user's sudo rights, the PostgreSQL login),
// each with the command that fixes it; runDoctor sends the spec to the server in one command (the login's secret
// values on its standard input, never in argv) and parses its one JSON record. The server's half is doctor.py, with
// the modules it imports (postgres_login.py, python_fix.py). The README's "before the first apply" list is this file.
import { checksRecord } from "../server/check-record.js";
import type { Environment } from "../../schema/index.js";
import { outputLines } from "../server/server-shell.js";
import { GenError } from "../errors.js";
import { isSecretRef } from "../secrets/index.js";
import type { Parsed } from "../transport/step-records.js";
import type { CommandResult, Transport } from "../transport/transport.js";
import { runStep, stepSender, type TypedStep } from "../transport/typed-steps.js";
import { quoteArg } from "../transport/shell-quote.js";
import { programText, pythonWithModules } from "../program-text.js";
import { postgresLoginFixes, shownValue, type LoginSkip, type PostgresLogin } from "./postgres-login.js";
import { pythonSpec } from "./python-packages.js";
import { socketAccessSpec } from "./socket-access.js";
import { JOURNAL_GROUPS, journalGroupFix } from "../operate/journal.js";

export const DOCTOR_CHECKS = [
  "user",
  "group",
  "journal",
  "unit",
  "python",
  "poetry",
  "poetry-in-project",
  "postgres",
  "postgres-login",
  "redis",
  "certificate",
  "disk",
  "sudo",
] as const;
export type DoctorCheck = (typeof DOCTOR_CHECKS)[number];

export interface DoctorResult {
  check: DoctorCheck;
  /** What was looked at: a user, a unit, an address, a file. */
  subject: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  /** The command that fixes it (only on warn or fail). */
  fix?: string;
}

export interface DoctorOptions {
  envName: string;
  roles: string[];
  /** The server's "/" as commands see it (a root prefix in tests). */
  root: string;
  /** Free space wanted where the releases go. */
  minFreeMb: number;
  /** Set when the PostgreSQL login cannot be checked (a secret it needs is not set). */
  loginSkip?: LoginSkip;
}

const UNIT_DIRS = ["/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"];

/** The JSON the server program reads: paths under the root prefix, the server path kept for messages. */
export function doctorSpec(env: Environment, options: DoctorOptions) {
  const under = (path: string) => `${options.root.replace(/\/+$/, "")}${path}`;
  const { server, app, nginx, sudoers, redis, postgres } = env;
  const deploy = server.deployUser;
  const domains = [app.domain, ...app.redirectDomains].map((d) => `-d ${d}`).join(" ");
  const certificateFix = `sudo apt-get install certbot python3-certbot-nginx && sudo certbot certonly --nginx ${domains} (or set nginx.tls: false until there is a certificate)`;
  const dropIn = `/etc/sudoers.d/${sudoers.fileName}`;
  return {
    timeout: env.checks.timeoutSeconds,
    users: [
      { name: deploy, role: "server.deployUser", fix: `sudo adduser --disabled-password --gecos "" ${deploy}` },
      ...(server.webUser === deploy
        ? []
        : [{ name: server.webUser, role: "server.webUser", fix: `sudo adduser --system --group --no-create-home ${server.webUser}` }]),
    ],
    groups: unique([
      { name: server.deployGroup, role: "server.deployGroup", fix: `sudo addgroup ${server.deployGroup} && sudo adduser ${deploy} ${server.deployGroup}` },
      { name: server.webGroup, role: "server.webGroup", fix: `sudo addgroup --system ${server.webGroup} && sudo adduser ${server.webUser} ${server.webGroup}` },
      { name: env.gunicorn.socketGroup, role: "gunicorn.socketGroup", fix: `sudo addgroup --system ${env.gunicorn.socketGroup}` },
    ]),
    socket: socketAccessSpec(env, options.roles),
    // gen logs reads the units' journal as the release user: a warning, since neither apply nor deploy needs it.
    journal: { user: env.release.sshUser ?? deploy, groups: JOURNAL_GROUPS, fix: journalGroupFix(env.release.sshUser ?? deploy) },
    units: server.systemServices.map((service) => ({
      unit: `${service}.service`,
      dirs: UNIT_DIRS.map(under),
      shownDirs: UNIT_DIRS,
      fix: `sudo apt-get install ${service}`,
    })),
    python: pythonSpec(app.pythonVersion, options.root),
    poetry:
      app.poetry === null
        ? null
        : {
            path: under(app.poetry),
            shown: app.poetry,
            user: deploy,
            fix: `sudo apt-get install pipx && sudo -u ${deploy} pipx install poetry (or set app.poetry to where poetry is)`,
            inProjectFix: `sudo -u ${deploy} ${app.poetry} config virtualenvs.in-project true`,
          },
    postgres: postgres === null ? null : postgresSpec(postgres, options),
    redis:
      redis === null
        ? null
        : {
            host: redis.host,
            port: redis.port,
            fix: `sudo apt-get install ${redis.service} && sudo systemctl enable --now ${redis.service} (or correct redis.host and redis.port)`,
            authFix: `remove requirepass from /etc/redis/redis.conf and sudo systemctl restart ${redis.service} (the broker URL carries no password)`,
          },
    certificates:
      nginx.tls && options.roles.includes("web")
        ? [nginx.certificate, nginx.certificateKey, nginx.certbotOptions, nginx.dhparam].map((file) => ({
            file: under(file),
            shown: file,
            fix: certificateFix,
          }))
        : [],
    disk: {
      path: under(env.paths.releases),
      shown: env.paths.releases,
      minFreeMb: options.minFreeMb,
      fix: `make room on the disk of ${env.paths.releases} (df -h; sudo apt-get clean; sudo journalctl --vacuum-size=200M), or run gen doctor with a lower --min-free-mb`,
    },
    // The drop-in's commands, as sudoers.njk writes them from the same rules.
    sudo: {
      user: sudoers.user,
      dropIn,
      path: under(dropIn),
      commands: sudoers.rules.flatMap((rule) => rule.verbs.map((verb) => `${server.systemctl} ${verb} ${rule.service}`)),
      missingFix: `gen apply ${options.envName} (as an administrator: it installs the drop-in ${dropIn})`,
      // Without sudo, "sudo apt-get install sudo" cannot run.
      installFix: "su -c 'apt-get install sudo' (with root's password)",
      // Debian's /etc/sudoers lets %sudo run anything, Ubuntu's %sudo and %admin (with the user's password).
      adminGroups: ["sudo", "admin"].map((group) => ({ name: group, fix: `sudo deluser ${sudoers.user} ${group}` })),
    },
  };
}

function postgresSpec(postgres: NonNullable<Environment["postgres"]>, options: DoctorOptions) {
  const host = isSecretRef(postgres.host) ? undefined : postgres.host;
  return {
    host: host ?? "",
    shownHost: host ?? shownValue(postgres.host),
    port: postgres.port,
    ...(host === undefined ? { skip: "postgres.host is a secret value that is not set: not checked" } : {}),
    fix: `sudo apt-get install postgresql && sudo systemctl enable --now postgresql (or correct postgres.host and postgres.port)`,
    shownUser: shownValue(postgres.user),
    shownDatabase: shownValue(postgres.name),
    passwordSecret: postgres.password.secret,
    ...(options.loginSkip ? { loginSkip: options.loginSkip.reason } : {}),
    fixes: { ...postgresLoginFixes(postgres), ...(options.loginSkip ? { secret: options.loginSkip.fix } : {}) },
  };
}

function unique<T extends { name: string }>(items: T[]): T[] {
  return items.filter((item, i) => items.findIndex((other) => other.name === item.name) === i);
}

export type DoctorSpec = ReturnType<typeof doctorSpec>;

/** `login`: the PostgreSQL login's values, secrets included: sent on standard input, never on a command line. */
export async function runDoctor(transport: Transport, spec: DoctorSpec, login?: PostgresLogin): Promise<DoctorResult[]> {
  return runStep(stepSender(transport, { sudo: false }), doctorStep(spec, login));
}

/** The readiness checks as one step: the server program, its spec on the command line, the login on its input. */
export function doctorStep(spec: DoctorSpec, login?: PostgresLogin): TypedStep<DoctorResult[]> {
  return {
    name: "running the readiness checks",
    script: `exec python3 -c ${quoteArg(doctorProgram())} ${quoteArg(JSON.stringify(spec))}`,
    stdin: JSON.stringify(login ? { postgres: login } : {}),
    // A host that stands in for a server (the sandbox, a folder on this machine) has no server to get ready.
    serverOnly: {},
    parse: (run) => (run.notRun ? { ok: true, value: [] } : parseDoctorRecord(run)),
  };
}

/** doctor.py with the modules it imports, as one text for `python3 -c`. */
export function doctorProgram(): string {
  return pythonWithModules({ file: "doctor.py", source: programText(import.meta.url, "./doctor.py") }, [
    { name: "postgres_login", source: programText(import.meta.url, "./postgres_login.py") },
    { name: "python_fix", source: programText(import.meta.url, "./python_fix.py") },
  ]);
}

export function parseDoctorRecord(run: CommandResult): Parsed<DoctorResult[]> {
  const checks = checksRecord<DoctorResult>(run.stdout, run.exitCode);
  if (checks) return { ok: true, value: checks };
  if (run.exitCode === 127) {
    return {
      ok: true,
      value: [
        {
          check: "python",
          subject: "python3",
          status: "fail",
          detail: "python3 is not installed on the server (gen's checks and the application need it)",
          fix: "sudo apt-get install python3",
        },
      ],
    };
  }
  return { ok: false, error: new GenError(`the readiness checks did not run (exit ${run.exitCode})`, { details: outputLines(run).slice(-10) }) };
}

export const doctorProblems = (results: DoctorResult[]) => results.filter((r) => r.status === "fail");

export function describeDoctor(result: DoctorResult): string[] {
  const mark = result.status === "ok" ? "ok  " : result.status === "warn" ? "warn" : "FAIL";
  return [`${mark} ${result.check} ${result.subject}: ${result.detail}`, ...(result.fix ? [`     fix: ${result.fix}`] : [])];
}
