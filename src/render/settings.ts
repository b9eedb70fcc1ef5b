// The settings_local.py of an environment as ordered (name, value) pairs: Django's settings gen derives (hosts,
// database, cache, media, static), the application's log files, folders and Redis settings, and its extra settings.
// The names of django.order come first, in that order; the others follow by name.
import type { Environment, PythonValue } from "../../schema/index.js";

export function djangoSettings(env: Environment): [string, PythonValue][] {
  const values = new Map<string, PythonValue>();
  const set = (name: string, value: PythonValue | undefined) => {
    if (value !== undefined) values.set(name, value);
  };
  for (const [name, value] of Object.entries(env.django.settings)) set(name, value);
  const { postgres, redis } = env;
  if (postgres) {
    set("DATABASES", {
      default: {
        ENGINE: "django.db.backends.postgresql",
        NAME: postgres.name,
        USER: postgres.user,
        PASSWORD: postgres.password,
        HOST: postgres.host,
        PORT: postgres.port,
      },
    });
  }
  if (redis) {
    const url = `redis://${redis.host}:${redis.port}/${redis.db}`;
    set("CACHES", { default: { BACKEND: "django.core.cache.backends.redis.RedisCache", LOCATION: url } });
    const parts = { url, host: redis.host, port: redis.port, db: redis.db };
    for (const [name, part] of Object.entries(redis.settings)) set(name, parts[part]);
  }
  for (const [name, path] of Object.entries(env.django.logFiles)) set(name, path);
  for (const [name, path] of Object.entries(env.django.folders)) set(name, path);
  const own = new Set(values.keys());
  for (const [name, value] of Object.entries(env.django.extra)) if (!own.has(name)) set(name, value);
  const order = env.django.order.filter((name) => values.has(name));
  const first = new Set(order);
  const rest = [...values.keys()].filter((name) => !first.has(name)).sort(byCodeUnits);
  return [...order, ...rest].map((name) => [name, values.get(name)!]);
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
