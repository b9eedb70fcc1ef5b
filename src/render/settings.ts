// The settings_local.py of an environment as ordered (name, value) pairs: required names first, in the order the
// reference README lists them, then the optional ones that are set, then the environment's extra settings.
import type { Environment, PythonValue } from "../../schema/index.js";

const REQUIRED = [
  "ALLOWED_HOSTS",
  "CACHES",
  "DATABASES",
  "DEBUG",
  "DJANGO_LOG_LEVEL",
  "DRF_NUM_PROXIES",
  "ERROR_LOG_FILE",
  "MEDIA_ROOT",
  "MEDIA_URL",
  "SECRET_KEY",
  "TSOSI_CELERY_BROKER_URL",
  "TSOSI_DATA_LOG_FILE",
  "TSOSI_DJANGO_LOG_FILE",
  "TSOSI_ERROR_OUTPUT_FOLDER",
  "TSOSI_FRONTEND_CUSTOM_HEADER",
  "TSOSI_LOG_LEVEL",
  "TSOSI_MAIN_LOG_FILE",
  "TSOSI_PUBLIC_RELPATH",
] as const;

const OPTIONAL = [
  "STATIC_URL",
  "TSOSI_DATA_EXPORT_FOLDER",
  "TSOSI_SCIPOST_AUTH",
  "TSOSI_TO_INGEST_DIR",
  "TSOSI_REDIS_DB",
  "TSOSI_REDIS_HOST",
  "TSOSI_REDIS_PORT",
  "TSOSI_TRIGGER_JOBS",
  "TSOSI_API_RATE",
  "TSOSI_API_WHITELIST_IPS",
] as const;

export function djangoSettings(env: Environment): [string, PythonValue][] {
  const s = env.django.settings;
  const { postgres, redis } = env;
  const computed: Record<string, PythonValue> = {
    DATABASES: {
      default: {
        ENGINE: "django.db.backends.postgresql",
        NAME: postgres.name,
        USER: postgres.user,
        PASSWORD: postgres.password,
        HOST: postgres.host,
        PORT: postgres.port,
      },
    },
    CACHES: {
      default: { BACKEND: "django.core.cache.backends.redis.RedisCache", LOCATION: `redis://${redis.host}:${redis.port}/${redis.db}` },
    },
  };
  const known = s as Record<string, PythonValue | undefined>;
  const pick = (name: string): PythonValue | undefined => computed[name] ?? known[name];
  const pairs: [string, PythonValue][] = [];
  for (const name of REQUIRED) pairs.push([name, pick(name)!]);
  for (const name of OPTIONAL) {
    const value = pick(name);
    if (value !== undefined) pairs.push([name, value]);
  }
  for (const name of Object.keys(env.django.extra).sort()) pairs.push([name, env.django.extra[name]!]);
  return pairs;
}
