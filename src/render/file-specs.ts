// Which files an environment puts on the server: path, kind, ownership, roles and the services each one feeds.
import type { Environment, Role } from "../../schema/index.js";
import type { FileKind, FolderSpec, ServiceHandlers } from "../types.js";

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
  const appServices = [`${gunicorn.service}.service`, `${celery.service}.service`, `${celery.beat.service}.service`];
  const root = { owner: "root", group: "root" };
  const specs: FileSpec[] = [
    { path: `/etc/sudoers.d/${env.sudoers.fileName}`, template: "sudoers.njk", kind: "sudoers", mode: "0440", ...root, roles: BOTH, handlers: none },
    {
      path: `${unitDir}/${gunicorn.service}.socket`,
      template: "gunicorn.socket.njk",
      kind: "systemd-unit",
      mode: "0644",
      ...root,
      roles: ["web"],
      handlers: restart(`${gunicorn.service}.socket`),
    },
    {
      path: `${unitDir}/${gunicorn.service}.service`,
      template: "gunicorn.service.njk",
      kind: "systemd-unit",
      mode: "0644",
      ...root,
      roles: ["web"],
      handlers: restart(`${gunicorn.service}.service`),
    },
    {
      path: `${unitDir}/${gunicorn.handoverService}.service`,
      template: "gunicorn-handover.service.njk",
      kind: "systemd-unit",
      mode: "0644",
      ...root,
      roles: ["web"],
      // Only ever started around a restart of the service, which its change calls for when the service runs.
      handlers: none,
    },
    {
      path: `${unitDir}/${celery.service}.service`,
      template: "celery.service.njk",
      kind: "systemd-unit",
      mode: "0644",
      ...root,
      roles: ["worker"],
      handlers: restart(`${celery.service}.service`),
    },
    {
      path: `${unitDir}/${celery.beat.service}.service`,
      template: "celery-beat.service.njk",
      kind: "systemd-unit",
      mode: "0644",
      ...root,
      roles: ["worker"],
      handlers: restart(`${celery.beat.service}.service`),
    },
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
      handlers: { reload: extra.reload.map(unit), restart: extra.restart.map(unit) },
      vars: extra.vars,
    });
  }
  return specs;
}

export function folderSpecs(env: Environment): FolderSpec[] {
  const { deployUser: user, deployGroup: group, webGroup } = env.server;
  const p = env.paths;
  const folder = (path: string, g: string, mode: string): FolderSpec => ({ path, owner: user, group: g, mode, roles: BOTH });
  return [
    folder(p.webRoot, webGroup, "0755"),
    folder(p.releases, group, "0755"),
    folder(p.logs, group, "0755"),
    folder(p.media, webGroup, "0755"),
    // apply installs settings_local.py here as root: the folder is root's, so nobody else can swap the file
    // for a link; the deploy group reads it (the file itself stays the deploy user's, 0600).
    { ...folder(p.config, group, "0750"), owner: "root" },
    folder(p.errors, group, "0755"),
    folder(p.toIngest, group, "0755"),
  ];
}

function unit(name: string): string {
  return /\.(service|socket|timer|target)$/.test(name) ? name : `${name}.service`;
}
