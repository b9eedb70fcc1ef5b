// The environment schema: a Django application's server. Fields that are derived from others (socket path, log
// files, ALLOWED_HOSTS...) are optional here and filled in by resolveEnvironment, so one value feeds every file that
// mentions it. An optional component (celery, celery.beat, redis, postgres, paths.media, release.frontend, app.poetry)
// is null when the application has none; left out, it is the base's, and without a base the default here.
import { z } from "zod";
import {
  AbsolutePathSchema,
  ArgvSchema,
  DomainSchema,
  HostSchema,
  LogLevelSchema,
  MimeTypeSchema,
  ModeSchema,
  NameSchema,
  NginxSizeSchema,
  PathGlobSchema,
  PidPathSchema,
  PortSchema,
  PositiveIntSchema,
  PythonValueSchema,
  SecretOrTextSchema,
  SecretRefSchema,
  ServiceNameSchema,
  SettingNameSchema,
  SizeSchema,
  TextSchema,
  UrlPrefixSchema,
} from "./primitives.js";

export const RoleSchema = z.enum(["web", "worker"]);
export type Role = z.infer<typeof RoleSchema>;
const ALL_ROLES: Role[] = ["web", "worker"];

const FingerprintSchema = z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, { error: "expected an OpenSSH fingerprint such as SHA256:abc... (43 characters)" });

export const HostEntrySchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, { error: "expected a short host label" })
    .optional(),
  host: HostSchema,
  port: PortSchema.optional(),
  roles: z.array(RoleSchema).min(1).default(ALL_ROLES),
  hostKey: FingerprintSchema.optional(),
  /** This host's stand-in for "/" (default: server.root), e.g. for containers that share one address. */
  root: z
    .string()
    .regex(/^\/([A-Za-z0-9._+@-]+\/?)*$/, { error: "expected an absolute folder path" })
    .optional(),
});

export const ServerSchema = z
  .strictObject({
    transport: z.enum(["ssh", "local"]).default("ssh"),
    /** For the local transport: the folder standing in for the server's "/", relative to the project. */
    localRoot: z.string().optional(),
    host: HostSchema.optional(),
    port: PortSchema.default(22),
    hostKey: FingerprintSchema.optional(),
    hosts: z.array(HostEntrySchema).min(1).optional(),
    /** Default: deployUser. */
    sshUser: NameSchema.optional(),
    deployUser: NameSchema.default("deployer"),
    /** Default: deployUser (the group adduser makes with it). */
    deployGroup: NameSchema.optional(),
    webUser: NameSchema.default("www-data"),
    webGroup: NameSchema.default("www-data"),
    /** Root-owned files are read and written through `sudo -n`. */
    useSudo: z.boolean().default(true),
    /** Units that exist on the server without gen writing them (default nginx, and redis.service with redis). */
    systemServices: z.array(ServiceNameSchema).optional(),
    systemctl: AbsolutePathSchema.default("/usr/bin/systemctl"),
    /** How apply checks the whole nginx configuration before reloading it. */
    nginxTest: ArgvSchema.default(["/usr/sbin/nginx", "-t", "-q"]),
    /** Backups of how many applies are kept on the server. */
    backupsKept: PositiveIntSchema.default(5),
    connectTimeoutSeconds: PositiveIntSchema.default(10),
    /** A folder on the server standing in for "/" (tests, chroots); every server path is under it. */
    root: z
      .string()
      .regex(/^\/([A-Za-z0-9._+@-]+\/?)*$/, { error: "expected an absolute folder path" })
      .default("/"),
    /** Where gen keeps its lock, its record of what it last applied, backups and the apply log. */
    stateDir: AbsolutePathSchema.optional(),
  })
  .superRefine((server, ctx) => {
    // Connections, plans and locks are keyed by a host's name: two hosts under one name would be merged.
    const seen = new Map<string, number>();
    (server.hosts ?? []).forEach((entry, index) => {
      const name = hostName(entry, server.hosts!, server.port);
      const first = seen.get(name);
      if (first === undefined) seen.set(name, index);
      else
        ctx.addIssue({
          code: "custom",
          path: ["hosts", index, "name"],
          message: `host name ${name} is also the name of hosts[${first}]: give each host its own name`,
        });
    });
  });

/** A host's name: its own, else its address, with the port when another host shares the address. */
export function hostName(entry: { name?: string | undefined; host: string; port?: number | undefined }, all: { host: string }[], defaultPort: number): string {
  if (entry.name !== undefined) return entry.name;
  const shared = all.filter((other) => other.host === entry.host).length > 1;
  return shared ? `${entry.host}:${entry.port ?? defaultPort}` : entry.host;
}

export const AppSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,30}$/, { error: "expected a short lowercase name (letters, digits, _) used in unit and file names" }),
  domain: DomainSchema,
  /** Domains that are redirected to the primary domain. */
  redirectDomains: z.array(DomainSchema).default([]),
  /** Extra ALLOWED_HOSTS entries that nginx never proxies (server IPs, 127.0.0.1). */
  extraAllowedHosts: z.array(z.union([DomainSchema, HostSchema])).default([]),
  /** What the HTTPS catch-all does with unknown host names: redirect to the primary domain, or close (444). */
  unknownHosts: z.enum(["redirect", "reject"]).default("redirect"),
  /** null: no Poetry; each release gets a virtualenv (.venv) made with python<pythonVersion> -m venv, installed with pip. */
  poetry: AbsolutePathSchema.nullable().optional(),
  pythonVersion: z
    .string()
    .regex(/^3\.\d+$/)
    .default("3.12"),
});

export const PathsSchema = z.strictObject({
  webRoot: AbsolutePathSchema.default("/var/www"),
  releases: AbsolutePathSchema.optional(),
  current: AbsolutePathSchema.optional(),
  /** null: the application has no media folder (no MEDIA_ROOT, no nginx media location). */
  media: AbsolutePathSchema.nullable().optional(),
  logs: AbsolutePathSchema.optional(),
  config: AbsolutePathSchema.optional(),
  /** Inside a release: where the backend lives, its static files and the front end. */
  backendDir: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default("backend"),
  staticDir: z
    .string()
    .regex(/^[A-Za-z0-9_/-]+$/)
    .default("backend/static"),
  publicDir: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default("public"),
});

export const GunicornSchema = z.strictObject({
  service: ServiceNameSchema.optional(),
  workers: PositiveIntSchema.default(5),
  socketPath: AbsolutePathSchema.optional(),
  socketUser: NameSchema.optional(),
  socketGroup: NameSchema.optional(),
  socketMode: ModeSchema.default("0660"),
  command: ArgvSchema.optional(),
  /** Default: the wsgi module of the settings module's top package (mysite.settings: mysite.wsgi:application). */
  wsgiApp: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$/, { error: "expected module:callable" })
    .optional(),
  /** The second Gunicorn on the same socket while the service restarts (default <service>_handover). */
  handoverService: ServiceNameSchema.optional(),
  /** Gunicorn's workers get this long to finish the requests under way when it stops (--graceful-timeout). */
  gracefulTimeoutSeconds: PositiveIntSchema.default(30),
  /** Default: gracefulTimeoutSeconds + 5, so that systemd never kills a worker that is still finishing a request. */
  timeoutStopSeconds: PositiveIntSchema.optional(),
  /** Import the application before Gunicorn says it is ready (--preload): a release that cannot be imported never replaces the running one. */
  preload: z.boolean().default(true),
});

export const CeleryBeatSchema = z.strictObject({
  service: ServiceNameSchema.optional(),
  runtimeDirectory: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional(),
  stateDirectory: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { error: "expected a folder name under /var/lib" })
    .optional(),
  pidFile: PidPathSchema.optional(),
  logFile: PidPathSchema.optional(),
  logLevel: LogLevelSchema.default("INFO"),
});

export const CelerySchema = z.strictObject({
  service: ServiceNameSchema.optional(),
  /** Default: the settings module's top package (mysite.settings: mysite). */
  app: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.]*$/)
    .optional(),
  nodeName: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional(),
  concurrency: PositiveIntSchema.default(1),
  logLevel: LogLevelSchema.default("INFO"),
  runtimeDirectory: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { error: "expected a folder name under /run" })
    .optional(),
  /** celery expands %n (node name) and %I (process index). */
  pidFile: PidPathSchema.optional(),
  logFile: PidPathSchema.optional(),
  command: ArgvSchema.optional(),
  /** null: no beat service. */
  beat: CeleryBeatSchema.nullable().prefault({}),
});

export const RedisSchema = z.strictObject({
  host: HostSchema.default("127.0.0.1"),
  port: PortSchema.default(6379),
  db: z.int().min(0).max(15).default(0),
  service: ServiceNameSchema.default("redis-server"),
  /** Settings that receive Redis's address, by their names: the whole URL (redis://host:port/db) or one part. */
  settings: z.record(SettingNameSchema, z.enum(["url", "host", "port", "db"]).nullable()).default({}),
});

export const PostgresSchema = z.strictObject({
  host: SecretOrTextSchema.default("127.0.0.1"),
  port: PortSchema.default(5432),
  /** Default: app.name. */
  name: SecretOrTextSchema.optional(),
  /** Default: app.name. */
  user: SecretOrTextSchema.optional(),
  password: SecretRefSchema,
});

export const NginxSchema = z.strictObject({
  siteName: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { error: "expected a site file name of letters, digits, _ and -" })
    .optional(),
  tls: z.boolean().default(true),
  /** Also listen on IPv6 ([::]:80, [::]:443), as Debian's default site does; needed when the domains have AAAA records. */
  ipv6: z.boolean().default(false),
  certificate: AbsolutePathSchema.optional(),
  certificateKey: AbsolutePathSchema.optional(),
  certbotOptions: AbsolutePathSchema.default("/etc/letsencrypt/options-ssl-nginx.conf"),
  dhparam: AbsolutePathSchema.default("/etc/letsencrypt/ssl-dhparams.pem"),
  clientMaxBodySize: NginxSizeSchema.default("4G"),
  keepaliveTimeout: z.int().min(0).max(3600).default(5),
  accessLog: AbsolutePathSchema.default("/var/log/nginx/access.log"),
  errorLog: AbsolutePathSchema.default("/var/log/nginx/error.log"),
  gzip: z
    .strictObject({
      enabled: z.boolean().default(true),
      minLength: z.int().min(0).default(1000),
      compLevel: z.int().min(1).max(9).default(6),
      types: z.array(MimeTypeSchema).default(["text/plain", "text/css", "application/json", "application/javascript", "text/javascript"]),
    })
    .prefault({}),
  locations: z
    .strictObject({
      static: UrlPrefixSchema.default("/static/"),
      media: UrlPrefixSchema.default("/media/"),
      api: UrlPrefixSchema.default("/api/"),
    })
    .prefault({}),
  /** Overrides: by default nginx serves paths.media and proxies to gunicorn.socketPath. */
  mediaAlias: AbsolutePathSchema.optional(),
  apiSocket: AbsolutePathSchema.optional(),
});

export const SystemctlVerbSchema = z.enum(["start", "stop", "restart", "reload", "status"]);
export const SudoRuleSchema = z.strictObject({
  service: ServiceNameSchema,
  verbs: z.array(SystemctlVerbSchema).min(1),
});

export const SudoersSchema = z.strictObject({
  fileName: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { error: "sudo silently skips drop-ins whose name contains '.' or ends in '~': use letters, digits, _ and - only" })
    .optional(),
  user: NameSchema.optional(),
  rules: z.array(SudoRuleSchema).optional(),
});

export const LogrotateSchema = z.strictObject({
  fileName: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { error: "expected a file name of letters, digits, _ and -" })
    .optional(),
  patterns: z.array(PathGlobSchema).min(1).optional(),
  rotate: z.int().min(0).max(1000).default(5),
  frequency: z.enum(["daily", "weekly", "monthly", "yearly"]).default("weekly"),
  minsize: SizeSchema.optional(),
  maxsize: SizeSchema.optional(),
  missingok: z.boolean().default(true),
  notifempty: z.boolean().default(true),
  copytruncate: z.boolean().default(true),
  compress: z.boolean().default(true),
  delaycompress: z.boolean().default(false),
  /** Who logrotate rotates as (`su user group`); default: the owner of paths.logs, so root never works in a folder another user can change. */
  su: z.strictObject({ user: NameSchema, group: NameSchema }).optional(),
});

/** Django's own settings that gen writes, by their Django names. Unset derived ones are filled in. */
export const DjangoSettingsSchema = z.strictObject({
  SECRET_KEY: SecretRefSchema,
  DEBUG: z.boolean().default(false),
  /** As Django reads it: a name, ".example.org" for the domain and its subdomains, or "*". */
  ALLOWED_HOSTS: z.array(z.union([DomainSchema, HostSchema, z.string().regex(/^\.[a-z0-9.-]+$/), z.literal("*")])).optional(),
  MEDIA_URL: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)+$/, { error: 'expected a relative URL prefix such as "media/"' })
    .optional(),
  STATIC_URL: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)+$/, { error: 'expected a relative URL prefix such as "static/"' })
    .optional(),
  MEDIA_ROOT: AbsolutePathSchema.optional(),
});

/** A log file: a file name inside paths.logs, or an absolute path. */
const LogFileSchema = z.union([
  z.string().regex(/^[A-Za-z0-9_+@-][A-Za-z0-9._+@-]*$/, { error: "expected a file name (inside paths.logs) or an absolute path" }),
  AbsolutePathSchema,
]);

/** A folder: an absolute path, or ~/name inside the deploy user's home. */
const FolderSchema = z.union([
  z
    .string()
    .regex(/^~\/[A-Za-z0-9_+@-][A-Za-z0-9._+@-]*(\/[A-Za-z0-9._+@-]+)*$/, { error: "expected ~/name (in the deploy user's home) or an absolute path" })
    .refine((s) => !s.split("/").includes(".."), { error: "must not contain '..'" }),
  AbsolutePathSchema,
]);

export const DjangoSchema = z.strictObject({
  /** The module that reads settings_local.py (`from .settings_local import *`); default <app.name>.settings. */
  settingsModule: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/, { error: "expected a dotted module name such as mysite.settings" })
    .optional(),
  settings: DjangoSettingsSchema,
  /** The application's settings that name a log file (rotated by logrotate): setting name -> file (null: none). */
  logFiles: z.record(SettingNameSchema, LogFileSchema.nullable()).default({}),
  /** The application's settings that name a folder it writes into, which gen prepares for the deploy user (null: none). */
  folders: z.record(SettingNameSchema, FolderSchema.nullable()).default({}),
  /** Any other setting, written as a Python literal. */
  extra: z.record(SettingNameSchema, PythonValueSchema).default({}),
  /** The order of settings_local.py: these names first, in this order, then the others by name. */
  order: z.array(SettingNameSchema).default([]),
});

export const ReleaseSchema = z.strictObject({
  branch: z
    .string()
    .regex(/^[A-Za-z0-9._/-]+$/, { error: "expected a git branch name" })
    .default("main"),
  keep: z.int().min(2, { error: "keep at least 2 releases (the live one and the one before it)" }).default(3),
  repository: TextSchema.optional(),
  source: z.enum(["clone", "archive"]).default("clone"),
  /** The repository's folder that becomes the release's backend (where manage.py is); "." is its root. Default: paths.backendDir. */
  repositoryFolder: z
    .string()
    .regex(/^(\.|[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*)$/, {
      error: 'expected a folder of the repository such as "backend", or "." for its root',
    })
    .optional(),
  install: z.array(ArgvSchema).optional(),
  /** The manage.py commands of the default release.tasks, run through the application's Python. */
  manage: z.array(z.array(TextSchema.min(1)).min(1)).default([
    ["collectstatic", "--noinput"],
    ["migrate", "--noinput"],
  ]),
  tasks: z.array(ArgvSchema).optional(),
  /** Prints the migration plan as Django's `showmigrations --plan` does; null: migrations are not recorded. */
  migrations: ArgvSchema.nullable().optional(),
  frontend: z
    .strictObject({
      dir: z
        .string()
        .regex(/^[A-Za-z0-9._/-]+$/)
        .default("frontend"),
      build: z.array(ArgvSchema).default([
        ["npm", "ci"],
        ["npm", "run", "build"],
      ]),
      output: z
        .string()
        .regex(/^[A-Za-z0-9._/-]+$/)
        .default("frontend/dist"),
    })
    .nullable()
    .prefault({}),
  /** Inside the backend folder: where settings_local.py from paths.config is linked (default: beside django.settingsModule). */
  settingsLink: z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9._/-]*$/)
    .optional(),
  /** The SSH user that releases (default: server.deployUser); it needs only the sudoers rules gen writes. */
  sshUser: NameSchema.optional(),
});

export const CheckNameSchema = z.enum(["gunicorn", "nginx", "static", "media", "celery", "certificate"]);
export type CheckName = z.infer<typeof CheckNameSchema>;

/** The smoke checks after a deploy and in `gen check`, all derived from the rest of the environment. */
export const ChecksSchema = z.strictObject({
  /** Asked through the Gunicorn socket and through nginx, with the site's Host header; a 5xx or no answer fails. */
  path: z
    .string()
    .regex(/^\/[A-Za-z0-9._~/?=&%+-]*$/, { error: "expected a URL path such as /api/" })
    .optional(),
  /** Where nginx is asked (default: 127.0.0.1 on port 443 with TLS, 80 without). */
  nginxAddress: z.strictObject({ host: HostSchema, port: PortSchema }).optional(),
  /** Fewer days left on the certificate than this is a warning. */
  certificateDays: z.int().min(0).max(365).default(14),
  timeoutSeconds: PositiveIntSchema.default(10),
  skip: z.array(CheckNameSchema).default([]),
});

export const ExtraFileSchema = z.strictObject({
  path: AbsolutePathSchema,
  /** A nunjucks template, relative to the environments/ folder. */
  template: z
    .string()
    .regex(/^[A-Za-z0-9._/-]+$/)
    .refine((s) => !s.split("/").includes(".."), { error: "must not contain '..'" }),
  mode: ModeSchema.default("0644"),
  owner: NameSchema.default("root"),
  group: NameSchema.default("root"),
  roles: z.array(RoleSchema).min(1).default(ALL_ROLES),
  reload: z.array(ServiceNameSchema).default([]),
  restart: z.array(ServiceNameSchema).default([]),
  vars: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), PythonValueSchema).default({}),
});

export const EnvironmentInputSchema = z.strictObject({
  /** The definition format, as `gen show --json` writes it (the version of its JSON output). */
  version: z.literal(1).optional(),
  description: TextSchema.optional(),
  server: ServerSchema.prefault({}),
  app: AppSchema,
  paths: PathsSchema.prefault({}),
  gunicorn: GunicornSchema.prefault({}),
  celery: CelerySchema.nullable().prefault({}),
  redis: RedisSchema.nullable().prefault({}),
  postgres: PostgresSchema.nullable(),
  nginx: NginxSchema.prefault({}),
  sudoers: SudoersSchema.prefault({}),
  logrotate: LogrotateSchema.prefault({}),
  django: DjangoSchema,
  release: ReleaseSchema.prefault({}),
  checks: ChecksSchema.prefault({}),
  files: z.array(ExtraFileSchema).default([]),
});

export type EnvironmentInput = z.input<typeof EnvironmentInputSchema>;
export type ParsedEnvironment = z.output<typeof EnvironmentInputSchema>;
