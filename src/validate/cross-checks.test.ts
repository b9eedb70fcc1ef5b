import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { GenError } from "../errors.js";
import { loadEnvironment, type LoadedEnvironment } from "../load/load-environment.js";
import { packageRoot } from "../paths.js";
import { renderEnvironment } from "../render/render-environment.js";
import type { Issue } from "../types.js";
import { CROSS_CHECKS, runCrossChecks, type CrossCheckInput } from "./cross-checks.js";

const environmentsDir = join(packageRoot, "environments");
const fixturesDir = join(packageRoot, "test", "fixtures", "environments");
const SECRETS = { TSOSI_DB_PASSWORD: "db-password-0123", TSOSI_SECRET_KEY: "secret-key-0123456789" };

const tempDirs: string[] = [];
after(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** prod (as the YAML fixture) broken by the overrides, through the real loader (so derived fields follow). */
async function loadVariant(overrides: Record<string, unknown>): Promise<LoadedEnvironment> {
  const dir = mkdtempSync(join(tmpdir(), "gen-cross-test-"));
  tempDirs.push(dir);
  copyFileSync(join(fixturesDir, "prod-as-yaml.yaml"), join(dir, "prod-as-yaml.yaml"));
  writeFileSync(join(dir, "broken.json"), JSON.stringify({ extends: "prod-as-yaml", ...overrides }));
  return loadEnvironment("broken", { environmentsDir: dir, processEnv: SECRETS });
}

function checkInput(loaded: LoadedEnvironment): CrossCheckInput {
  const rendered = renderEnvironment({
    name: loaded.name,
    environment: loaded.environment,
    secrets: loaded.secrets.lookup,
    environmentsDir: loaded.environmentsDir,
  });
  return { source: loaded.file, environment: loaded.environment, files: rendered.files, folders: rendered.manifest.folders };
}

/** check name -> its issues, for the checks that report any. */
function issuesByCheck(input: CrossCheckInput): Record<string, Issue[]> {
  return Object.fromEntries(
    Object.entries(CROSS_CHECKS)
      .map(([name, check]) => [name, check(input)] as const)
      .filter(([, issues]) => issues.length > 0),
  );
}

function describeIssues(byCheck: Record<string, Issue[]>): string {
  return JSON.stringify(byCheck, null, 2);
}

interface BrokenCase {
  check: string;
  what: string;
  overrides: Record<string, unknown>;
  /** Fields every issue of the check must name. */
  fields: string[];
  /** Text the message must contain. */
  mentions: string[];
  /** Other checks that rightly fire for the same break. */
  alsoFiring?: string[];
}

const REFERENCE_LOGS = {
  ERROR_LOG_FILE: "/var/log/tsosi/error.log",
  TSOSI_MAIN_LOG_FILE: "/var/log/tsosi/tsosi_app.log",
  TSOSI_DATA_LOG_FILE: "/var/log/tsosi/tsosi_data.log",
  TSOSI_DJANGO_LOG_FILE: "/var/log/tsosi/django.log",
};

const CASES: BrokenCase[] = [
  {
    check: "socketPathMatches",
    what: "nginx proxies to the reference's /run/tsosi_gunicorn.socket while gunicorn listens on .sock",
    overrides: { nginx: { apiSocket: "/run/tsosi_gunicorn.socket" } },
    fields: ["nginx.apiSocket", "gunicorn.socketPath"],
    mentions: ["/run/tsosi_gunicorn.socket", "/run/tsosi_gunicorn.sock", "502"],
  },
  {
    check: "mediaRootIsServed",
    what: "MEDIA_ROOT is not the folder nginx serves /media/ from",
    overrides: { django: { settings: { MEDIA_ROOT: "/srv/media" } } },
    fields: ["django.settings.MEDIA_ROOT", "nginx.mediaAlias"],
    mentions: ["/srv/media", "/tsosi_media"],
    alsoFiring: ["deployUserOwnsWrittenPaths"],
  },
  {
    check: "mediaRootIsServed",
    what: "MEDIA_URL is not the URL nginx serves media under",
    overrides: { django: { settings: { MEDIA_URL: "uploads/" } } },
    fields: ["django.settings.MEDIA_URL", "nginx.locations.media"],
    mentions: ["uploads/", "/media/"],
  },
  {
    check: "logsAreRotated",
    what: "the reference's TSOSI_MAIN_LOG_FILE directly in /var/log",
    overrides: { django: { logFiles: { TSOSI_MAIN_LOG_FILE: "/var/log/tsosi_app.log" } } },
    fields: ["django.logFiles.TSOSI_MAIN_LOG_FILE", "logrotate.patterns"],
    mentions: ["/var/log/tsosi_app.log", "/var/log/tsosi/*.log"],
    alsoFiring: ["deployUserOwnsWrittenPaths"],
  },
  {
    check: "logsAreRotated",
    what: "logrotate patterns that cover only the celery logs",
    overrides: { logrotate: { patterns: ["/var/log/tsosi/celery*.log"] } },
    fields: ["logrotate.patterns"],
    mentions: ["/var/log/tsosi/celery*.log"],
  },
  {
    check: "pidFilesInRuntimeDirectory",
    what: "the reference's beat pid file in celery's runtime folder",
    overrides: { celery: { beat: { pidFile: "/run/celery/beat.pid" } } },
    fields: ["celery.beat.pidFile", "celery.beat.runtimeDirectory"],
    mentions: ["/run/celery/beat.pid", "/run/celery_beat/"],
  },
  {
    check: "sudoersNameKnownServices",
    what: "sudoers rules naming postgresql, which neither gen nor server.systemServices knows",
    overrides: {
      sudoers: {
        rules: [
          { service: "tsosi_gunicorn", verbs: ["restart"] },
          { service: "postgresql", verbs: ["restart"] },
        ],
      },
    },
    fields: ["sudoers.rules.1.service", "server.systemServices"],
    mentions: ["postgresql"],
  },
  {
    check: "serverNamesAreAllowedHosts",
    what: "ALLOWED_HOSTS without www.tsosi.org, which nginx serves",
    overrides: { django: { settings: { ALLOWED_HOSTS: ["tsosi.org", "tsosi.u-ga.fr", "127.0.0.1"] } } },
    fields: ["django.settings.ALLOWED_HOSTS", "app.redirectDomains"],
    mentions: ["www.tsosi.org", "400"],
  },
  {
    check: "deployUserOwnsWrittenPaths",
    what: "paths.logs elsewhere than where the log files are (which are still rotated)",
    overrides: {
      paths: { logs: "/srv/tsosi/logs" },
      django: { logFiles: REFERENCE_LOGS },
      celery: { logFile: "/var/log/tsosi/celery_%n%I.log", beat: { logFile: "/var/log/tsosi/celery_beat.log" } },
      logrotate: { patterns: ["/var/log/tsosi/*.log"] },
    },
    fields: [],
    mentions: ["/var/log/tsosi", "/srv/tsosi/logs"],
  },
  {
    check: "deployUserOwnsWrittenPaths",
    what: "a folder setting naming paths.config, the folder root keeps for settings_local.py",
    overrides: { django: { folders: { TSOSI_TO_INGEST_DIR: "~/config" } } },
    fields: ["django.folders.TSOSI_TO_INGEST_DIR"],
    mentions: ["/home/deployer/config", "owned by root"],
  },
  {
    check: "logrotateRunsAsLogFolderOwner",
    what: "logrotate rotating the deploy user's log folder as root",
    overrides: { logrotate: { su: { user: "root", group: "root" } } },
    fields: ["logrotate.su", "paths.logs"],
    mentions: ["/var/log/tsosi/*.log", "root:root", "deployer:deployer", "su deployer deployer"],
  },
  {
    check: "extraSettingsDoNotShadow",
    what: "DEBUG set again in django.extra",
    overrides: { django: { extra: { DEBUG: true } } },
    fields: ["django.extra.DEBUG", "django.settings.DEBUG"],
    mentions: ["DEBUG"],
  },
  {
    check: "extraSettingsDoNotShadow",
    what: "TSOSI_REDIS_PORT set in django.extra, where gen writes Redis's port (redis.settings)",
    overrides: { django: { extra: { TSOSI_REDIS_PORT: 6380 } } },
    fields: ["django.extra.TSOSI_REDIS_PORT", "redis.settings.TSOSI_REDIS_PORT"],
    mentions: ["TSOSI_REDIS_PORT", "redis.settings"],
  },
  {
    check: "settingsAreNamedOnce",
    what: "TSOSI_REDIS_PORT named by redis.settings and by django.logFiles",
    overrides: { django: { logFiles: { TSOSI_REDIS_PORT: "redis.log" } } },
    fields: ["redis.settings.TSOSI_REDIS_PORT", "django.logFiles.TSOSI_REDIS_PORT"],
    mentions: ["TSOSI_REDIS_PORT"],
  },
];

describe("cross-checks on the real environments", () => {
  for (const name of ["prod", "staging", "example"]) {
    test(`${name} passes every check`, async () => {
      const loaded = await loadEnvironment(name, { environmentsDir, processEnv: SECRETS });
      assert.deepEqual(runCrossChecks(checkInput(loaded)), []);
    });
  }

  test("the YAML fixture used as the base of the broken cases passes every check", async () => {
    const loaded = await loadEnvironment("prod-as-yaml", { environmentsDir: fixturesDir, processEnv: SECRETS });
    assert.deepEqual(runCrossChecks(checkInput(loaded)), []);
  });

  test("every check has at least one broken environment below", () => {
    const covered = new Set(CASES.map((c) => c.check));
    assert.deepEqual(
      Object.keys(CROSS_CHECKS).filter((name) => !covered.has(name)),
      [],
    );
  });
});

test("logrotateRunsAsLogFolderOwner reports a logrotate file without su (as gen rendered it before) in the deploy user's log folder", async () => {
  const input = checkInput(await loadVariant({}));
  const files = input.files.map((f) => (f.kind === "logrotate" ? { ...f, content: f.content.replace(/^\s*su .*\n/m, "") } : f));
  const issues = CROSS_CHECKS.logrotateRunsAsLogFolderOwner!({ ...input, files });
  assert.equal(issues.length, 1, JSON.stringify(issues));
  assert.match(issues[0]!.message, /rotates \/var\/log\/tsosi\/\*\.log as root:root \(no su line\), but \/var\/log\/tsosi belongs to deployer:deployer/);
  assert.deepEqual(CROSS_CHECKS.logrotateRunsAsLogFolderOwner!(input), []);
});

describe("each check reports the environment broken its way", () => {
  for (const c of CASES) {
    test(`${c.check} reports ${c.what}`, async () => {
      const input = checkInput(await loadVariant(c.overrides));
      const byCheck = issuesByCheck(input);
      assert.deepEqual(Object.keys(byCheck).sort(), [c.check, ...(c.alsoFiring ?? [])].sort(), describeIssues(byCheck));
      const issues = byCheck[c.check]!;
      for (const issue of issues) {
        assert.equal(issue.severity, "error");
        assert.equal(issue.source, input.source);
        for (const field of c.fields) assert.ok(issue.fields?.includes(field), `${field} not named in ${JSON.stringify(issue)}`);
      }
      const messages = issues.map((i) => i.message).join("\n");
      for (const text of c.mentions) assert.ok(messages.includes(text), `message should mention ${text}: ${messages}`);
      assert.deepEqual(
        runCrossChecks(input),
        Object.keys(CROSS_CHECKS).flatMap((name) => byCheck[name] ?? []),
      );
    });
  }

  test("deployUserOwnsWrittenPaths names each log file field written outside the prepared folders", async () => {
    const input = checkInput(await loadVariant(CASES.find((c) => c.check === "deployUserOwnsWrittenPaths")!.overrides));
    const fields = CROSS_CHECKS.deployUserOwnsWrittenPaths!(input).flatMap((i) => i.fields ?? []);
    assert.deepEqual(fields.sort(), [
      "celery.beat.logFile",
      "celery.logFile",
      "django.logFiles.ERROR_LOG_FILE",
      "django.logFiles.TSOSI_DATA_LOG_FILE",
      "django.logFiles.TSOSI_DJANGO_LOG_FILE",
      "django.logFiles.TSOSI_MAIN_LOG_FILE",
    ]);
  });

  test("logsAreRotated names each log file of the reference that sits directly in /var/log", async () => {
    const reference = {
      ERROR_LOG_FILE: "/var/log/error.log",
      TSOSI_MAIN_LOG_FILE: "/var/log/tsosi_app.log",
      TSOSI_DATA_LOG_FILE: "/var/log/tsosi_data.log",
      TSOSI_DJANGO_LOG_FILE: "/var/log/django.log",
    };
    const input = checkInput(await loadVariant({ django: { logFiles: reference } }));
    const fields = CROSS_CHECKS.logsAreRotated!(input).map((i) => i.fields?.[0]);
    assert.deepEqual(
      fields.sort(),
      Object.keys(reference)
        .map((k) => `django.logFiles.${k}`)
        .sort(),
    );
  });

  test("the checks work on an environment object changed after loading", async () => {
    const loaded = await loadEnvironment("prod", { environmentsDir, processEnv: SECRETS });
    const env = loaded.environment;
    const broken = { ...loaded, environment: { ...env, celery: { ...env.celery!, pidFile: "/var/run/elsewhere/%n.pid" } } };
    const byCheck = issuesByCheck(checkInput(broken));
    assert.deepEqual(Object.keys(byCheck), ["pidFilesInRuntimeDirectory"], describeIssues(byCheck));
    assert.deepEqual(byCheck.pidFilesInRuntimeDirectory![0]!.fields, ["celery.pidFile", "celery.runtimeDirectory"]);
  });
});

describe("no false alarms and no loopholes", () => {
  test("accepts /var/run/ for /run/ in pid files", async () => {
    const input = checkInput(await loadVariant({ celery: { beat: { pidFile: "/var/run/celery_beat/beat.pid" } } }));
    assert.deepEqual(runCrossChecks(input), []);
  });

  test("accepts folders written with a trailing slash", async () => {
    const input = checkInput(
      await loadVariant({ paths: { media: "/tsosi_media/" }, django: { folders: { TSOSI_ERROR_OUTPUT_FOLDER: "/home/deployer/tsosi_errors/" } } }),
    );
    assert.deepEqual(runCrossChecks(input), []);
  });

  test("accepts Django's leading-dot pattern for a domain and its subdomains in ALLOWED_HOSTS", async () => {
    const input = checkInput(await loadVariant({ django: { settings: { ALLOWED_HOSTS: [".tsosi.org", "tsosi.u-ga.fr"] } } }));
    assert.deepEqual(runCrossChecks(input), []);
  });

  test("a pid file that leaves its runtime folder through .. is refused or reported", async () => {
    let loaded: LoadedEnvironment;
    try {
      loaded = await loadVariant({ celery: { beat: { pidFile: "/run/celery_beat/../celery/beat.pid" } } });
    } catch (error) {
      assert.ok(error instanceof GenError, String(error));
      return;
    }
    const issues = CROSS_CHECKS.pidFilesInRuntimeDirectory!(checkInput(loaded));
    assert.equal(issues.length, 1, "pid file /run/celery_beat/../celery/beat.pid is in /run/celery, not /run/celery_beat");
  });
});
