// Fills in every derived field from the one value it depends on, so the socket path, log files, MEDIA_ROOT and
// ALLOWED_HOSTS are written once and agree in every rendered file. Names derive from app.name, folders from the
// deploy user's home and paths.*, Python modules from django.settingsModule. The result has the same shape as the
// input: saved as JSON it is an environment that renders the same files. An absent component (null) stays null.
import { hostName, type ParsedEnvironment, type Role } from "./environment.js";

export function resolveEnvironment(env: ParsedEnvironment) {
  const app = env.app.name;
  const deployHome = `/home/${env.server.deployUser}`;
  const poetry = env.app.poetry === null ? null : (env.app.poetry ?? `${deployHome}/.local/bin/poetry`);
  const paths = resolvePaths(env.paths, app, deployHome);
  const programs = applicationPrograms(poetry, `${paths.current}/${paths.backendDir}`);
  const settingsModule = env.django.settingsModule ?? `${app}.settings`;
  const topPackage = settingsModule.split(".")[0]!;
  const redis = env.redis === null ? null : { ...env.redis, settings: withoutNulls(env.redis.settings) };
  const server = {
    ...resolveServer(env.server),
    sshUser: env.server.sshUser ?? env.server.deployUser,
    deployGroup: env.server.deployGroup ?? env.server.deployUser,
    systemServices: env.server.systemServices ?? ["nginx", ...(redis ? [redis.service] : [])],
    stateDir: env.server.stateDir ?? `/var/lib/gen/${app}`,
  };
  const gunicornService = env.gunicorn.service ?? `${app}_gunicorn`;
  const gunicorn = {
    ...env.gunicorn,
    service: gunicornService,
    socketPath: env.gunicorn.socketPath ?? `/run/${gunicornService}.sock`,
    socketUser: env.gunicorn.socketUser ?? env.server.webUser,
    socketGroup: env.gunicorn.socketGroup ?? env.server.webGroup,
    command: env.gunicorn.command ?? programs.run("gunicorn"),
    wsgiApp: env.gunicorn.wsgiApp ?? `${topPackage}.wsgi:application`,
    timeoutStopSeconds: env.gunicorn.timeoutStopSeconds ?? env.gunicorn.gracefulTimeoutSeconds + 5,
    /** Started on the same socket while the service restarts, then stopped: nothing waits for Gunicorn to start. */
    handoverService: env.gunicorn.handoverService ?? `${gunicornService}_handover`,
  };
  const celery = env.celery === null ? null : resolveCelery(env.celery, app, topPackage, paths.logs, programs.run("celery"));
  const mediaAlias = env.nginx.mediaAlias ?? paths.media ?? undefined;
  const nginx = {
    ...env.nginx,
    siteName: env.nginx.siteName ?? app,
    certificate: env.nginx.certificate ?? `/etc/letsencrypt/live/${env.app.domain}/fullchain.pem`,
    certificateKey: env.nginx.certificateKey ?? `/etc/letsencrypt/live/${env.app.domain}/privkey.pem`,
    ...(mediaAlias === undefined ? {} : { mediaAlias }),
    apiSocket: env.nginx.apiSocket ?? gunicorn.socketPath,
  };
  const ownServices = [gunicorn.service, ...(celery ? [celery.service, ...(celery.beat ? [celery.beat.service] : [])] : [])];
  const sudoers = {
    ...env.sudoers,
    fileName: env.sudoers.fileName ?? app,
    user: env.sudoers.user ?? env.server.deployUser,
    rules: env.sudoers.rules ?? defaultSudoRules(server.systemServices, ownServices, gunicorn.handoverService),
  };
  const logrotate = {
    ...env.logrotate,
    fileName: env.logrotate.fileName ?? app,
    patterns: env.logrotate.patterns ?? [`${paths.logs}/*.log`],
    // paths.logs belongs to the deploy user (folderSpecs): logrotate works there as that user, never as root.
    su: env.logrotate.su ?? { user: env.server.deployUser, group: server.deployGroup },
  };
  const postgres = env.postgres === null ? null : { ...env.postgres, name: env.postgres.name ?? app, user: env.postgres.user ?? app };
  const django = resolveDjango(env, { settingsModule, paths, mediaAlias, deployHome });
  const release = {
    ...env.release,
    repositoryFolder: env.release.repositoryFolder ?? paths.backendDir,
    settingsLink: env.release.settingsLink ?? `${settingsModule.split(".").slice(0, -1).join("/")}/settings_local.py`,
    install: env.release.install ?? programs.install(env.app.pythonVersion),
    tasks: env.release.tasks ?? env.release.manage.map((command) => [...programs.python, "manage.py", ...command]),
    // Custom tasks may not run Django at all: then the plan is read only when release.migrations names how.
    migrations:
      env.release.migrations !== undefined ? env.release.migrations : env.release.tasks ? null : [...programs.python, "manage.py", "showmigrations", "--plan"],
  };
  const checks = {
    ...env.checks,
    // Django answers it: the API's location with a front end (nginx serves "/" from the build), else "/".
    path: env.checks.path ?? (env.release.frontend ? env.nginx.locations.api : "/"),
    nginxAddress: env.checks.nginxAddress ?? { host: "127.0.0.1", port: env.nginx.tls ? 443 : 80 },
  };
  return { ...env, server, app: { ...env.app, poetry }, paths, gunicorn, celery, redis, postgres, nginx, sudoers, logrotate, django, release, checks };
}

export type Environment = ReturnType<typeof resolveEnvironment>;

/**
 * How the application's programs run: through Poetry, or from the release's own virtualenv (.venv in the backend
 * folder, made by the install). Units start them through `current` (absolute paths); the install and the tasks run
 * inside the new release's backend folder.
 */
function applicationPrograms(poetry: string | null, liveBackend: string) {
  if (poetry !== null)
    return {
      run: (program: string) => [poetry, "run", program],
      python: [poetry, "run", "python"],
      install: (_version: string) => [[poetry, "install", "--without", "dev", "--no-interaction"]],
    };
  return {
    run: (program: string) => [`${liveBackend}/.venv/bin/${program}`],
    python: [".venv/bin/python"],
    install: (version: string) => [
      [`python${version}`, "-m", "venv", ".venv"],
      [".venv/bin/pip", "install", "--no-input", "-r", "requirements.txt"],
    ],
  };
}

function resolveServer(server: ParsedEnvironment["server"]) {
  const single =
    server.host === undefined
      ? []
      : [{ name: server.host, host: server.host, port: server.port, roles: ["web", "worker"] as Role[], hostKey: server.hostKey, root: server.root }];
  const entries = server.hosts ?? single;
  const hosts = entries.map((h) => ({
    ...h,
    name: hostName(h, entries, server.port),
    port: h.port ?? server.port,
    hostKey: h.hostKey ?? server.hostKey,
    root: h.root ?? server.root,
  }));
  return { ...server, hosts };
}

function resolvePaths(paths: ParsedEnvironment["paths"], app: string, deployHome: string) {
  return {
    ...paths,
    releases: paths.releases ?? `${paths.webRoot}/releases`,
    current: paths.current ?? `${paths.webRoot}/current`,
    media: paths.media === null ? null : (paths.media ?? `/${app}_media`),
    logs: paths.logs ?? `/var/log/${app}`,
    config: paths.config ?? `${deployHome}/config`,
  };
}

function resolveCelery(celery: NonNullable<ParsedEnvironment["celery"]>, app: string, topPackage: string, logs: string, command: string[]) {
  const runtimeDirectory = celery.runtimeDirectory ?? "celery";
  const beat = celery.beat === null ? null : resolveBeat(celery.beat, app, logs);
  return {
    ...celery,
    service: celery.service ?? `${app}_celery`,
    app: celery.app ?? topPackage,
    nodeName: celery.nodeName ?? app,
    runtimeDirectory,
    pidFile: celery.pidFile ?? `/run/${runtimeDirectory}/%n.pid`,
    logFile: celery.logFile ?? `${logs}/celery_%n%I.log`,
    command: celery.command ?? command,
    beat,
  };
}

function resolveBeat(beat: NonNullable<NonNullable<ParsedEnvironment["celery"]>["beat"]>, app: string, logs: string) {
  const runtimeDirectory = beat.runtimeDirectory ?? "celery_beat";
  return {
    ...beat,
    service: beat.service ?? `${app}_celery_beat`,
    runtimeDirectory,
    stateDirectory: beat.stateDirectory ?? `${app}_celery_beat`,
    pidFile: beat.pidFile ?? `/run/${runtimeDirectory}/beat.pid`,
    logFile: beat.logFile ?? `${logs}/celery_beat.log`,
  };
}

function defaultSudoRules(systemServices: string[], ownServices: string[], handover: string) {
  const basic = ["restart", "start", "stop", "status"] as const;
  const system = systemServices.map((service) => ({ service, verbs: service === "nginx" ? [...basic, "reload" as const] : [...basic] }));
  // The handover service is only ever started and stopped around a restart of Gunicorn's.
  const handoverRule = { service: handover, verbs: ["start" as const, "stop" as const, "status" as const] };
  return [...system, ...ownServices.map((service) => ({ service, verbs: [...basic] })), handoverRule];
}

interface DjangoContext {
  settingsModule: string;
  paths: ReturnType<typeof resolvePaths>;
  mediaAlias: string | undefined;
  deployHome: string;
}

function resolveDjango(env: ParsedEnvironment, { settingsModule, paths, mediaAlias, deployHome }: DjangoContext) {
  const s = env.django.settings;
  // Without a media folder, MEDIA_URL and MEDIA_ROOT are written only when the environment sets them.
  const media = paths.media !== null;
  const settings = {
    ...s,
    ALLOWED_HOSTS: s.ALLOWED_HOSTS ?? [env.app.domain, ...env.app.redirectDomains, ...env.app.extraAllowedHosts],
    STATIC_URL: s.STATIC_URL ?? env.nginx.locations.static.replace(/^\//, ""),
    MEDIA_URL: s.MEDIA_URL ?? (media ? env.nginx.locations.media.replace(/^\//, "") : undefined),
    MEDIA_ROOT: s.MEDIA_ROOT ?? (media ? mediaAlias : undefined),
  };
  const logFiles = mapValues(withoutNulls(env.django.logFiles), (file) => (file.startsWith("/") ? file : `${paths.logs}/${file}`));
  const folders = mapValues(withoutNulls(env.django.folders), (folder) => (folder.startsWith("~/") ? `${deployHome}/${folder.slice(2)}` : folder));
  return { ...env.django, settingsModule, settings, logFiles, folders };
}

function withoutNulls<T>(record: Record<string, T | null>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).filter((entry): entry is [string, T] => entry[1] !== null));
}

function mapValues<T, U>(record: Record<string, T>, map: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));
}
