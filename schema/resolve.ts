// Fills in every derived field from the one value it depends on, so the socket path, log files, MEDIA_ROOT and
// ALLOWED_HOSTS are written once and agree in every rendered file. The result has the same shape as the input:
// saved as JSON it is an environment that renders the same files.
import { hostName, type ParsedEnvironment, type Role } from "./environment.js";

export function resolveEnvironment(env: ParsedEnvironment) {
  const app = env.app.name;
  const deployHome = `/home/${env.server.deployUser}`;
  const poetry = env.app.poetry ?? `${deployHome}/.local/bin/poetry`;
  const server = { ...resolveServer(env.server), stateDir: env.server.stateDir ?? `/var/lib/gen/${app}` };
  const paths = resolvePaths(env.paths, app, deployHome);
  const gunicorn = {
    ...env.gunicorn,
    service: env.gunicorn.service ?? `${app}_gunicorn`,
    socketPath: env.gunicorn.socketPath ?? `/run/${env.gunicorn.service ?? `${app}_gunicorn`}.sock`,
    socketUser: env.gunicorn.socketUser ?? env.server.webUser,
    socketGroup: env.gunicorn.socketGroup ?? env.server.webGroup,
    command: env.gunicorn.command ?? [poetry, "run", "gunicorn"],
    timeoutStopSeconds: env.gunicorn.timeoutStopSeconds ?? env.gunicorn.gracefulTimeoutSeconds + 5,
    /** Started on the same socket while the service restarts, then stopped: nothing waits for Gunicorn to start. */
    handoverService: env.gunicorn.handoverService ?? `${env.gunicorn.service ?? `${app}_gunicorn`}_handover`,
  };
  const celery = resolveCelery(env.celery, app, paths.logs, poetry);
  const nginx = {
    ...env.nginx,
    siteName: env.nginx.siteName ?? app,
    certificate: env.nginx.certificate ?? `/etc/letsencrypt/live/${env.app.domain}/fullchain.pem`,
    certificateKey: env.nginx.certificateKey ?? `/etc/letsencrypt/live/${env.app.domain}/privkey.pem`,
    mediaAlias: env.nginx.mediaAlias ?? paths.media,
    apiSocket: env.nginx.apiSocket ?? gunicorn.socketPath,
  };
  const sudoers = {
    ...env.sudoers,
    fileName: env.sudoers.fileName ?? app,
    user: env.sudoers.user ?? env.server.deployUser,
    rules: env.sudoers.rules ?? defaultSudoRules(env.server.systemServices, [gunicorn.service, celery.service, celery.beat.service], gunicorn.handoverService),
  };
  const logrotate = {
    ...env.logrotate,
    fileName: env.logrotate.fileName ?? app,
    patterns: env.logrotate.patterns ?? [`${paths.logs}/*.log`],
    // paths.logs belongs to the deploy user (folderSpecs): logrotate works there as that user, never as root.
    su: env.logrotate.su ?? { user: env.server.deployUser, group: env.server.deployGroup },
  };
  const django = { ...env.django, settings: resolveDjangoSettings(env, paths, nginx) };
  const release = {
    ...env.release,
    install: env.release.install ?? [[poetry, "install", "--without", "dev", "--no-interaction"]],
    tasks: env.release.tasks ?? [
      [poetry, "run", "python", "manage.py", "collectstatic", "--noinput"],
      [poetry, "run", "python", "manage.py", "migrate", "--noinput"],
      [poetry, "run", "python", "manage.py", "fill_static_data"],
      [poetry, "run", "python", "manage.py", "fetch_blog"],
    ],
    // Custom tasks may not run Django at all: then the plan is read only when release.migrations names how.
    migrations:
      env.release.migrations !== undefined
        ? env.release.migrations
        : env.release.tasks
          ? null
          : [poetry, "run", "python", "manage.py", "showmigrations", "--plan"],
  };
  const checks = { ...env.checks, nginxAddress: env.checks.nginxAddress ?? { host: "127.0.0.1", port: env.nginx.tls ? 443 : 80 } };
  return { ...env, server, app: { ...env.app, poetry }, paths, gunicorn, celery, nginx, sudoers, logrotate, django, release, checks };
}

export type Environment = ReturnType<typeof resolveEnvironment>;

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
    media: paths.media ?? `/${app}_media`,
    logs: paths.logs ?? `/var/log/${app}`,
    config: paths.config ?? `${deployHome}/config`,
    errors: paths.errors ?? `${deployHome}/${app}_errors`,
    toIngest: paths.toIngest ?? `${deployHome}/${app}_to_ingest`,
  };
}

function resolveCelery(celery: ParsedEnvironment["celery"], app: string, logs: string, poetry: string) {
  const runtimeDirectory = celery.runtimeDirectory ?? "celery";
  const beatRuntime = celery.beat.runtimeDirectory ?? "celery_beat";
  return {
    ...celery,
    service: celery.service ?? `${app}_celery`,
    nodeName: celery.nodeName ?? app,
    runtimeDirectory,
    pidFile: celery.pidFile ?? `/run/${runtimeDirectory}/%n.pid`,
    logFile: celery.logFile ?? `${logs}/celery_%n%I.log`,
    command: celery.command ?? [poetry, "run", "celery"],
    beat: {
      ...celery.beat,
      service: celery.beat.service ?? `${app}_celery_beat`,
      runtimeDirectory: beatRuntime,
      stateDirectory: celery.beat.stateDirectory ?? `${app}_celery_beat`,
      pidFile: celery.beat.pidFile ?? `/run/${beatRuntime}/beat.pid`,
      logFile: celery.beat.logFile ?? `${logs}/celery_beat.log`,
    },
  };
}

function defaultSudoRules(systemServices: string[], ownServices: string[], handover: string) {
  const basic = ["restart", "start", "stop", "status"] as const;
  const system = systemServices.map((service) => ({ service, verbs: service === "nginx" ? [...basic, "reload" as const] : [...basic] }));
  // The handover service is only ever started and stopped around a restart of Gunicorn's.
  const handoverRule = { service: handover, verbs: ["start" as const, "stop" as const, "status" as const] };
  return [...system, ...ownServices.map((service) => ({ service, verbs: [...basic] })), handoverRule];
}

function resolveDjangoSettings(env: ParsedEnvironment, paths: ReturnType<typeof resolvePaths>, nginx: { mediaAlias: string }) {
  const s = env.django.settings;
  const { redis } = env;
  const redisUrl = `redis://${redis.host}:${redis.port}/${redis.db}`;
  return {
    ...s,
    ALLOWED_HOSTS: s.ALLOWED_HOSTS ?? [env.app.domain, ...env.app.redirectDomains, ...env.app.extraAllowedHosts],
    MEDIA_URL: s.MEDIA_URL ?? env.nginx.locations.media.replace(/^\//, ""),
    STATIC_URL: s.STATIC_URL ?? env.nginx.locations.static.replace(/^\//, ""),
    MEDIA_ROOT: s.MEDIA_ROOT ?? nginx.mediaAlias,
    ERROR_LOG_FILE: s.ERROR_LOG_FILE ?? `${paths.logs}/error.log`,
    TSOSI_MAIN_LOG_FILE: s.TSOSI_MAIN_LOG_FILE ?? `${paths.logs}/tsosi_app.log`,
    TSOSI_DATA_LOG_FILE: s.TSOSI_DATA_LOG_FILE ?? `${paths.logs}/tsosi_data.log`,
    TSOSI_DJANGO_LOG_FILE: s.TSOSI_DJANGO_LOG_FILE ?? `${paths.logs}/django.log`,
    TSOSI_ERROR_OUTPUT_FOLDER: s.TSOSI_ERROR_OUTPUT_FOLDER ?? paths.errors,
    TSOSI_TO_INGEST_DIR: s.TSOSI_TO_INGEST_DIR ?? paths.toIngest,
    TSOSI_CELERY_BROKER_URL: s.TSOSI_CELERY_BROKER_URL ?? redisUrl,
    TSOSI_REDIS_HOST: s.TSOSI_REDIS_HOST ?? redis.host,
    TSOSI_REDIS_PORT: s.TSOSI_REDIS_PORT ?? redis.port,
    TSOSI_REDIS_DB: s.TSOSI_REDIS_DB ?? redis.db,
  };
}
