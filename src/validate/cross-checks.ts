// Relations between the rendered files that no real tool checks (nginx -t never looks at a unix upstream,
// logrotate never sees a log it has no pattern for). Each check is one small function named for what it asserts.
import { posix } from "node:path";
import type { Environment } from "../../schema/index.js";
import type { FolderSpec, Issue, RenderedFile } from "../types.js";
import { djangoSettings } from "../render/settings.js";
import { workerUnits } from "../render/unit-relations.js";
import { shellGlobRegExp } from "./shell-glob.js";

export interface CrossCheckInput {
  source: string;
  environment: Environment;
  files: RenderedFile[];
  folders: FolderSpec[];
}

type CrossCheck = (input: CrossCheckInput) => Issue[];

export const CROSS_CHECKS: Record<string, CrossCheck> = {
  socketPathMatches,
  mediaRootIsServed,
  logsAreRotated,
  pidFilesInRuntimeDirectory,
  sudoersNameKnownServices,
  serverNamesAreAllowedHosts,
  deployUserOwnsWrittenPaths,
  extraSettingsDoNotShadow,
  settingsAreNamedOnce,
  logrotateRunsAsLogFolderOwner,
};

export function runCrossChecks(input: CrossCheckInput): Issue[] {
  return Object.values(CROSS_CHECKS).flatMap((check) => check(input));
}

function issue(input: CrossCheckInput, fields: string[], message: string): Issue {
  return { severity: "error", source: input.source, fields, message };
}

const normalizeRun = (path: string) => posix.normalize(path).replace(/^\/var\/run\//, "/run/");

export function socketPathMatches(input: CrossCheckInput): Issue[] {
  const listen = input.files
    .filter((f) => f.path.endsWith(".socket"))
    .flatMap((f) => [...f.content.matchAll(/^ListenStream=(\S+)$/gm)].map((m) => normalizeRun(m[1]!)));
  const upstreams = input.files
    .filter((f) => f.kind === "nginx-site")
    .flatMap((f) => [...f.content.matchAll(/proxy_pass\s+http:\/\/unix:([^;:\s]+)/g)].map((m) => m[1]!));
  return upstreams
    .filter((up) => !listen.includes(normalizeRun(up)))
    .map((up) =>
      issue(
        input,
        ["nginx.apiSocket", "gunicorn.socketPath"],
        `nginx proxies to unix:${up} but the gunicorn socket unit listens on ${listen.join(", ") || "nothing"}: every API request would get a 502`,
      ),
    );
}

export function mediaRootIsServed(input: CrossCheckInput): Issue[] {
  const s = input.environment.django.settings;
  const alias = input.environment.nginx.mediaAlias;
  const where = input.environment.nginx.locations.media;
  const issues: Issue[] = [];
  if (s.MEDIA_ROOT !== undefined && (alias === undefined || trimSlash(s.MEDIA_ROOT) !== trimSlash(alias))) {
    const served = alias === undefined ? "nginx serves no media (paths.media is null)" : `nginx serves ${where} from ${alias}`;
    issues.push(
      issue(
        input,
        ["django.settings.MEDIA_ROOT", "nginx.mediaAlias", "paths.media"],
        `MEDIA_ROOT is ${s.MEDIA_ROOT} but ${served}: uploaded media would never be served`,
      ),
    );
  }
  if (s.MEDIA_URL !== undefined && alias !== undefined && `/${s.MEDIA_URL}` !== where) {
    issues.push(issue(input, ["django.settings.MEDIA_URL", "nginx.locations.media"], `MEDIA_URL is "${s.MEDIA_URL}" but nginx serves media under ${where}`));
  }
  return issues;
}

/** Every log file the application or Celery writes, with the field that sets it. celery's %n/%I become examples. */
export function logFiles(env: Environment): { field: string; path: string }[] {
  const { celery } = env;
  const example = (p: string) =>
    p
      .replaceAll("%n", celery?.nodeName ?? "")
      .replaceAll("%I", "0")
      .replaceAll("%i", "0")
      .replaceAll("%h", "host");
  return [
    ...Object.entries(env.django.logFiles).map(([name, path]) => ({ field: `django.logFiles.${name}`, path })),
    ...(celery ? [{ field: "celery.logFile", path: example(celery.logFile) }] : []),
    ...(celery?.beat ? [{ field: "celery.beat.logFile", path: example(celery.beat.logFile) }] : []),
  ];
}

export function logsAreRotated(input: CrossCheckInput): Issue[] {
  const patterns = input.environment.logrotate.patterns;
  const matchers = patterns.map((p) => shellGlobRegExp(p));
  return logFiles(input.environment)
    .filter(({ path }) => !matchers.some((match) => match.test(path)))
    .map(({ field, path }) =>
      issue(input, [field, "logrotate.patterns"], `log file ${path} is not covered by the logrotate patterns ${patterns.join(" ")}: it would grow forever`),
    );
}

export function pidFilesInRuntimeDirectory(input: CrossCheckInput): Issue[] {
  const { celery } = input.environment;
  const units = [
    ...(celery ? [{ field: "celery", pidFile: celery.pidFile, runtime: celery.runtimeDirectory }] : []),
    ...(celery?.beat ? [{ field: "celery.beat", pidFile: celery.beat.pidFile, runtime: celery.beat.runtimeDirectory }] : []),
  ];
  return units
    .filter(({ pidFile, runtime }) => !normalizeRun(pidFile).startsWith(`/run/${runtime}/`))
    .map(({ field, pidFile, runtime }) =>
      issue(
        input,
        [`${field}.pidFile`, `${field}.runtimeDirectory`],
        `pid file ${pidFile} is outside /run/${runtime}/, the runtime folder systemd creates for this unit (and removes when another unit stops)`,
      ),
    );
}

export function sudoersNameKnownServices(input: CrossCheckInput): Issue[] {
  const env = input.environment;
  const known = new Set([
    env.gunicorn.service,
    env.gunicorn.handoverService,
    ...workerUnits(env).map((u) => u.replace(/\.service$/, "")),
    ...env.server.systemServices,
  ]);
  return env.sudoers.rules
    .map((rule, i) => ({ rule, i }))
    .filter(({ rule }) => !known.has(rule.service))
    .map(({ rule, i }) =>
      issue(
        input,
        [`sudoers.rules.${i}.service`, "server.systemServices"],
        `sudoers names service ${rule.service}, which gen does not generate and server.systemServices does not declare (${[...known].join(", ")})`,
      ),
    );
}

export function serverNamesAreAllowedHosts(input: CrossCheckInput): Issue[] {
  const env = input.environment;
  const allowed = env.django.settings.ALLOWED_HOSTS;
  return [env.app.domain, ...env.app.redirectDomains]
    .filter((name) => !allowed.some((pattern) => hostMatches(name, pattern)))
    .map((name) =>
      issue(
        input,
        ["django.settings.ALLOWED_HOSTS", "app.domain", "app.redirectDomains"],
        `nginx serves ${name} but ALLOWED_HOSTS does not list it: Django would answer 400 Bad Request`,
      ),
    );
}

export function deployUserOwnsWrittenPaths(input: CrossCheckInput): Issue[] {
  const env = input.environment;
  const user = env.server.deployUser;
  const s = env.django.settings;
  const written = [
    ...logFiles(env).map(({ field, path }) => ({ field, dir: parentOf(path) })),
    ...(s.MEDIA_ROOT === undefined ? [] : [{ field: "django.settings.MEDIA_ROOT", dir: trimSlash(s.MEDIA_ROOT) }]),
    ...Object.entries(env.django.folders).map(([name, path]) => ({ field: `django.folders.${name}`, dir: trimSlash(path) })),
    { field: "paths.releases", dir: env.paths.releases },
  ];
  return written.flatMap(({ field, dir }) => {
    const folder = input.folders.find((f) => f.path === dir);
    if (folder === undefined)
      return [
        issue(input, [field], `${user} writes into ${dir}, which is not one of the folders gen prepares (${input.folders.map((f) => f.path).join(", ")})`),
      ];
    if (folder.owner !== user) return [issue(input, [field], `${user} writes into ${dir}, which is owned by ${folder.owner}`)];
    return [];
  });
}

export function extraSettingsDoNotShadow(input: CrossCheckInput): Issue[] {
  const places = settingPlaces(input.environment);
  const known = new Set(djangoSettings({ ...input.environment, django: { ...input.environment.django, extra: {} } }).map(([name]) => name));
  return Object.keys(input.environment.django.extra)
    .filter((name) => known.has(name))
    .map((name) => {
      const place = places.get(name)?.[0] ?? `django.settings.${name}`;
      return issue(
        input,
        [`django.extra.${name}`, place],
        `${name} is set by gen already: set it in ${place} (or the field it derives from), not in django.extra`,
      );
    });
}

/** Django's rule: "*" matches all, ".example.org" matches example.org and its subdomains. */
function hostMatches(name: string, pattern: string): boolean {
  if (pattern === "*" || pattern === name) return true;
  return pattern.startsWith(".") && (name === pattern.slice(1) || name.endsWith(pattern));
}

/** A setting is set in one place: two of django.logFiles, django.folders and redis.settings naming it would fight. */
export function settingsAreNamedOnce(input: CrossCheckInput): Issue[] {
  return [...settingPlaces(input.environment).entries()]
    .filter(([, fields]) => fields.length > 1)
    .map(([name, fields]) => issue(input, fields, `${name} is set in ${fields.join(" and ")}: keep one`));
}

/** Setting name -> the fields that set it (gen's settings and the application's log files, folders and Redis settings). */
function settingPlaces(env: Environment): Map<string, string[]> {
  const named = (prefix: string, record: Record<string, unknown>) =>
    Object.entries(record)
      .filter(([, value]) => value !== undefined)
      .map(([name]): [string, string] => [name, `${prefix}.${name}`]);
  const places: [string, string][] = [
    ...named("django.settings", env.django.settings),
    ...(env.postgres ? [["DATABASES", "postgres"] as [string, string]] : []),
    ...(env.redis ? [["CACHES", "redis"] as [string, string], ...named("redis.settings", env.redis.settings)] : []),
    ...named("django.logFiles", env.django.logFiles),
    ...named("django.folders", env.django.folders),
  ];
  const byName = new Map<string, string[]>();
  for (const [name, field] of places) byName.set(name, [...(byName.get(name) ?? []), field]);
  return byName;
}

/**
 * logrotate runs as root; rotating in a folder another user owns lets that user point the rotation anywhere
 * ("logrotten"). The rendered file's `su` must name the owner of every folder its patterns rotate in.
 */
export function logrotateRunsAsLogFolderOwner(input: CrossCheckInput): Issue[] {
  const rendered = input.files.filter((f) => f.kind === "logrotate");
  return rendered.flatMap((file) => {
    const su = /^\s*su\s+(\S+)\s+(\S+)\s*$/m.exec(file.content);
    const rotatedAs = su ? `${su[1]}:${su[2]}` : "root:root";
    return input.environment.logrotate.patterns.flatMap((pattern) => {
      const folder = input.folders.find((f) => f.path === parentOf(pattern));
      if (folder === undefined || (folder.owner === "root" && folder.group === "root")) return [];
      const owner = `${folder.owner}:${folder.group}`;
      if (rotatedAs === owner) return [];
      return [
        issue(
          input,
          ["logrotate.su", "logrotate.patterns", "paths.logs"],
          `${file.path} rotates ${pattern} as ${rotatedAs}${su ? "" : " (no su line)"}, but ${folder.path} belongs to ${owner}: rotating as root in a folder ${folder.owner} can change lets ${folder.owner} make root write anywhere; rotate as su ${folder.owner} ${folder.group}`,
        ),
      ];
    });
  });
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}
