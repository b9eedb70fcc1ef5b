// Which files an environment puts on the server: path, kind, ownership, roles and the services each one feeds.
import type { Environment, Role } from "../../schema/index.js";
import type { FileKind, FolderSpec, ServiceHandlers } from "../types.js";
import { workerUnits } from "./unit-relations.js";

export interface FileSpec {
  path: string;
  /** Template name (in templates/, or in environments/ for extra files); absent for a symlink. */
  template?: string;
  linkTarget?: string;
  kind: FileKind;
  mode: string;
  owner: string;
  group: string;
  roles: Role[];
  handlers: ServiceHandlers;
  /** For an extra file: its place in the environment, e.g. files[2]. */
  entry?: string;
  /** Extra template variables (extra files). */
  vars?: Record<string, unknown>;
}

const BOTH: Role[] = ["web", "worker"];

export function fileSpecs(env: Environment): FileSpec[] {
  const { server, gunicorn, celery, nginx } = env;
  const unitDir = "/etc/systemd/system";
  const none: ServiceHandlers = { reload: [], restart: [] };
  const restart = (...units: string[]): ServiceHandlers => ({ reload: [], restart: units });
  const site = `/etc/nginx/sites-available/${nginx.siteName}`;
  const nginxReload: ServiceHandlers = { reload: ["nginx.service"], restart: [] };
  const appServices = [`${gunicorn.service}.service`, ...workerUnits(env)];
  const root = { owner: "root", group: "root" };
  const unit = (name: string, template: string, roles: Role[], handlers: ServiceHandlers): FileSpec => ({
    path: `${unitDir}/${name}`,
    template,
    kind: "systemd-unit",
    mode: "0644",
    ...root,
    roles,
    handlers,
  });
  const specs: FileSpec[] = [
    { path: `/etc/sudoers.d/${env.sudoers.fileName}`, template: "sudoers.njk", kind: "sudoers", mode: "0440", ...root, roles: BOTH, handlers: none },
    unit(`${gunicorn.service}.socket`, "gunicorn.socket.njk", ["web"], restart(`${gunicorn.service}.socket`)),
    unit(`${gunicorn.service}.service`, "gunicorn.service.njk", ["web"], restart(`${gunicorn.service}.service`)),
    // Only ever started around a restart of the service, which its change calls for when the service runs.
    unit(`${gunicorn.handoverService}.service`, "gunicorn-handover.service.njk", ["web"], none),
    ...(celery ? [unit(`${celery.service}.service`, "celery.service.njk", ["worker"], restart(`${celery.service}.service`))] : []),
    ...(celery?.beat ? [unit(`${celery.beat.service}.service`, "celery-beat.service.njk", ["worker"], restart(`${celery.beat.service}.service`))] : []),
    { path: site, template: "nginx-site.njk", kind: "nginx-site", mode: "0644", ...root, roles: ["web"], handlers: nginxReload },
    { path: `/etc/nginx/sites-enabled/${nginx.siteName}`, linkTarget: site, kind: "symlink", mode: "0777", ...root, roles: ["web"], handlers: nginxReload },
    { path: `/etc/logrotate.d/${env.logrotate.fileName}`, template: "logrotate.njk", kind: "logrotate", mode: "0644", ...root, roles: BOTH, handlers: none },
    {
      path: `${env.paths.config}/settings_local.py`,
      template: "settings_local.py.njk",
      kind: "python-settings",
      mode: "0600",
      owner: server.deployUser,
      group: server.deployGroup,
      roles: BOTH,
      handlers: restart(...appServices),
    },
  ];
  for (const [index, extra] of env.files.entries()) {
    specs.push({
      entry: `files[${index}]`,
      path: extra.path,
      template: extra.template,
      // A unit of the environment's own is a unit: checked with systemd-analyze, and systemd reloads when it changes.
      kind: /^\/etc\/systemd\/system\/[^/]+\.(service|socket|timer|path|target)$/.test(extra.path) ? "systemd-unit" : "other",
      mode: extra.mode,
      owner: extra.owner,
      group: extra.group,
      roles: extra.roles,
      handlers: { reload: extra.reload.map(unitName), restart: extra.restart.map(unitName) },
      vars: extra.vars,
    });
  }
  return specs;
}

export function folderSpecs(env: Environment): FolderSpec[] {
  const { deployUser: user, deployGroup: group, webGroup } = env.server;
  const p = env.paths;
  const folder = (path: string, g: string, mode: string): FolderSpec => ({ path, owner: user, group: g, mode, roles: BOTH });
  const folders = [
    folder(p.webRoot, webGroup, "0755"),
    folder(p.releases, group, "0755"),
    folder(p.logs, group, "0755"),
    ...(p.media === null ? [] : [folder(p.media, webGroup, "0755")]),
    // apply installs settings_local.py here as root: the folder is root's, so nobody else can swap the file
    // for a link; the deploy group reads it (the file itself stays the deploy user's, 0600).
    { ...folder(p.config, group, "0750"), owner: "root" },
    // The folders the application's settings name (django.folders), which it writes into.
    ...Object.values(env.django.folders).map((path) => folder(path, group, "0755")),
  ];
  // A folder named twice is prepared once, as first named: gen validate says when a setting names gen's own folder.
  return folders.filter((f, i) => folders.findIndex((other) => other.path === f.path) === i);
}

function unitName(name: string): string {
  return /\.(service|socket|timer|target)$/.test(name) ? name : `${name}.service`;
}
