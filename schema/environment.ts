// The environment schema: everything the reference server needs, with the reference's values as defaults.
// Fields that are derived from others (socket path, log files, ALLOWED_HOSTS...) are optional here and
// filled in by resolveEnvironment, so one value feeds every file that mentions it.
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
    sshUser: NameSchema.default("deployer"),
    deployUser: NameSchema.default("deployer"),
    deployGroup: NameSchema.default("deployer"),
    webUser: NameSchema.default("www-data"),
    webGroup: NameSchema.default("www-data"),
    /** Root-owned files are read and written through `sudo -n`. */
    useSudo: z.boolean().default(true),
    /** Units that exist on the server without gen writing them. */
    systemServices: z.array(ServiceNameSchema).default(["nginx", "redis-server"]),
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
  poetry: AbsolutePathSchema.optional(),
  pythonVersion: z
    .string()
    .regex(/^3\.\d+$/)
    .default("3.12"),
});

export const PathsSchema = z.strictObject({
  webRoot: AbsolutePathSchema.default("/var/www"),
  releases: AbsolutePathSchema.optional(),
  current: AbsolutePathSchema.optional(),
  media: AbsolutePathSchema.optional(),
  logs: AbsolutePathSchema.optional(),
  config: AbsolutePathSchema.optional(),
  errors: AbsolutePathSchema.optional(),
  toIngest: AbsolutePathSchema.optional(),
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
  wsgiApp: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$/, { error: "expected module:callable" })
    .default("backend_site.wsgi:application"),
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
  app: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.]*$/)
    .default("backend_site"),
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
  beat: CeleryBeatSchema.prefault({}),
});

export const RedisSchema = z.strictObject({
  host: HostSchema.default("127.0.0.1"),
  port: PortSchema.default(6379),
  db: z.int().min(0).max(15).default(0),
  service: ServiceNameSchema.default("redis-server"),
});

export const PostgresSchema = z.strictObject({
  host: SecretOrTextSchema.default("127.0.0.1"),
  port: PortSchema.default(5432),
  name: SecretOrTextSchema,
  user: SecretOrTextSchema,
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

const ScipostAuthSchema = z.strictObject({
  username: SecretOrTextSchema,
  password: SecretOrTextSchema,
  client_id: SecretOrTextSchema,
  client_secret: SecretOrTextSchema,
});

/** Settings read by the reference application, by their Django names. Unset derived ones are filled in. */
export const DjangoSettingsSchema = z.strictObject({
  SECRET_KEY: SecretRefSchema,
  DEBUG: z.boolean().default(false),
  /** As Django reads it: a name, ".example.org" for the domain and its subdomains, or "*". */
  ALLOWED_HOSTS: z.array(z.union([DomainSchema, HostSchema, z.string().regex(/^\.[a-z0-9.-]+$/), z.literal("*")])).optional(),
  DJANGO_LOG_LEVEL: LogLevelSchema.default("INFO"),
  TSOSI_LOG_LEVEL: LogLevelSchema.default("INFO"),
  DRF_NUM_PROXIES: z.int().min(0).default(1),
  MEDIA_URL: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)+$/, { error: 'expected a relative URL prefix such as "media/"' })
    .optional(),
  STATIC_URL: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)+$/, { error: 'expected a relative URL prefix such as "static/"' })
    .optional(),
  MEDIA_ROOT: AbsolutePathSchema.optional(),
  ERROR_LOG_FILE: AbsolutePathSchema.optional(),
  TSOSI_MAIN_LOG_FILE: AbsolutePathSchema.optional(),
  TSOSI_DATA_LOG_FILE: AbsolutePathSchema.optional(),
  TSOSI_DJANGO_LOG_FILE: AbsolutePathSchema.optional(),
  TSOSI_ERROR_OUTPUT_FOLDER: AbsolutePathSchema.optional(),
  /** Derived from redis unless set; a value that disagrees with redis is reported by gen validate. */
  TSOSI_CELERY_BROKER_URL: z
    .string()
    .regex(/^redis:\/\/[A-Za-z0-9.:[\]-]+:\d+\/\d+$/, { error: "expected redis://host:port/db" })
    .optional(),
  TSOSI_REDIS_HOST: HostSchema.optional(),
  TSOSI_REDIS_PORT: PortSchema.optional(),
  TSOSI_REDIS_DB: z.int().min(0).max(15).optional(),
  TSOSI_FRONTEND_CUSTOM_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/)
    .default("X-Frontend-Origin"),
  TSOSI_PUBLIC_RELPATH: TextSchema.default("../public/"),
  TSOSI_DATA_EXPORT_FOLDER: AbsolutePathSchema.optional(),
  TSOSI_SCIPOST_AUTH: ScipostAuthSchema.optional(),
  TSOSI_TO_INGEST_DIR: AbsolutePathSchema.optional(),
  TSOSI_TRIGGER_JOBS: z.boolean().optional(),
  TSOSI_API_RATE: TextSchema.optional(),
  TSOSI_API_WHITELIST_IPS: z.array(HostSchema).optional(),
});

export const DjangoSchema = z.strictObject({
  settings: DjangoSettingsSchema,
  /** Any other setting, written as a Python literal. */
  extra: z.record(SettingNameSchema, PythonValueSchema).default({}),
});

export const ReleaseSchema = z.strictObject({
  branch: z
    .string()
    .regex(/^[A-Za-z0-9._/-]+$/, { error: "expected a git branch name" })
    .default("main"),
  keep: z.int().min(2, { error: "keep at least 2 releases (the live one and the one before it)" }).default(3),
  repository: TextSchema.optional(),
  source: z.enum(["clone", "archive"]).default("clone"),
  install: z.array(ArgvSchema).optional(),
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
    .prefault({}),
  /** Inside the backend folder: where settings_local.py from paths.config is linked. */
  settingsLink: z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9._/-]*$/)
    .default("backend_site/settings_local.py"),
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
    .default("/api/"),
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
  celery: CelerySchema.prefault({}),
  redis: RedisSchema.prefault({}),
  postgres: PostgresSchema,
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
