// The sudoers drop-in gen renders, read by the real sudo: installed for the test user gen-test in /etc/sudoers.d
// (checked with visudo -cf first, under a unique name, removed in a finally), what gen-test may run as root is
// listed with `sudo -ll -U gen-test`, and the takeover of a root-owned folder through a link is attempted.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { packageRoot } from "../../src/paths.js";
import { renderedEnvironment } from "../support/rendered-environment.js";
import { workerUnits } from "../../src/render/unit-relations.js";
import type { Environment } from "../../schema/index.js";
import { withSudoersLock } from "../support/sudoers-lock.js";

const USER = "gen-test";
const SECRETS = { TSOSI_DB_PASSWORD: "db-password-0123", TSOSI_SECRET_KEY: "secret-key-0123456789" };
const VERBS = ["start", "stop", "restart", "reload", "status"];

function userId(name: string): number {
  const run = spawnSync("id", ["-u", name], { encoding: "utf8" });
  assert.equal(run.status, 0, `the test user ${name} does not exist: npm run test:full creates it`);
  return Number(run.stdout.trim());
}

function requireTools(): void {
  assert.equal(process.getuid?.(), 0, "this test installs a sudoers drop-in and must run as root (npm run test:full, .ci/run)");
  for (const tool of ["visudo", "sudo", "runuser"]) {
    assert.equal(
      spawnSync(tool, ["--version"]).error,
      undefined,
      `${tool} is not installed (Debian packages sudo, util-linux): npm run test:full installs them`,
    );
  }
}

/** prod with the deploy user gen-test and the web root in `webRoot`, rendered by gen; its drop-in and environment. */
async function renderedDropIn(dir: string, webRoot: string): Promise<{ content: string; env: Environment }> {
  const envDir = join(dir, "environments");
  mkdirSync(envDir);
  copyFileSync(join(packageRoot, "test", "fixtures", "environments", "prod-as-yaml.yaml"), join(envDir, "prod-as-yaml.yaml"));
  const overrides = { extends: "prod-as-yaml", server: { deployUser: USER, deployGroup: USER }, paths: { webRoot } };
  writeFileSync(join(envDir, "sudo-test.json"), JSON.stringify(overrides));
  const { loaded, files } = await renderedEnvironment("sudo-test", envDir, SECRETS);
  const file = files.find((f) => f.kind === "sudoers");
  assert.ok(file, "gen rendered no sudoers drop-in");
  return { content: file.content, env: loaded.environment };
}

/** Installs `content` as /etc/sudoers.d/<unique name> for the length of `body`, also when it throws. */
async function withDropIn(dir: string, content: string, body: () => Promise<void> | void): Promise<void> {
  const candidate = join(dir, "dropin");
  writeFileSync(candidate, content, { mode: 0o440 });
  const check = spawnSync("visudo", ["-cf", candidate], { encoding: "utf8" });
  assert.equal(check.status, 0, `visudo -cf refuses the rendered drop-in: ${check.stdout}${check.stderr}`);
  // sudo skips names with a dot: letters, digits and - only.
  const installed = `/etc/sudoers.d/gen-test-${randomBytes(6).toString("hex")}`;
  // gen doctor's tests install their own drop-ins for gen-test: one test at a time.
  await withSudoersLock(async () => {
    try {
      copyFileSync(candidate, installed);
      chmodSync(installed, 0o440);
      const whole = spawnSync("visudo", ["-c"], { encoding: "utf8" });
      assert.equal(whole.status, 0, `visudo -c refuses the sudoers configuration with the drop-in: ${whole.stdout}${whole.stderr}`);
      await body();
    } finally {
      rmSync(installed, { force: true });
    }
  });
}

/** Every command `user` may run through sudo, as `sudo -ll -U` lists them (one per line under "Commands:"). */
function allowedCommands(user: string): string[] {
  const run = spawnSync("sudo", ["-ll", "-U", user], { encoding: "utf8" });
  assert.equal(run.status, 0, `sudo -ll -U ${user} failed: ${run.stderr}`);
  const commands: string[] = [];
  let inCommands = false;
  for (const line of run.stdout.split("\n")) {
    if (/^\s*Commands:\s*$/.test(line)) inCommands = true;
    else if (inCommands && /^\t\t?\S/.test(line) && !/^\s*\w+:/.test(line)) commands.push(line.trim());
    else inCommands = false;
  }
  return commands;
}

function knownUnits(env: Environment): string[] {
  return [env.gunicorn.service, env.gunicorn.handoverService, ...workerUnits(env).map((unit) => unit.replace(/\.service$/, "")), ...env.server.systemServices];
}

function asUser(script: string): { status: number | null; output: string } {
  const run = spawnSync("runuser", ["-u", USER, "--", "sh", "-c", script], { encoding: "utf8" });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe("the sudoers drop-in, read by the real sudo", () => {
  test("every command the deploy user may run as root is `systemctl <verb> <unit>` for a unit gen knows", async () => {
    requireTools();
    userId(USER);
    const dir = mkdtempSync(join(tmpdir(), "gen-sudo-"));
    try {
      const { content, env } = await renderedDropIn(dir, "/var/www");
      await withDropIn(dir, content, () => {
        const commands = allowedCommands(USER);
        assert.ok(commands.length > 0, "sudo lists no command for the deploy user: the drop-in was not read");
        const units = knownUnits(env);
        const wrong = commands.filter((command) => {
          const words = command.split(" ");
          return !(words.length === 3 && words[0] === env.server.systemctl && VERBS.includes(words[1]!) && units.includes(words[2]!));
        });
        assert.deepEqual(wrong, [], `the deploy user may run as root: ${wrong.join(" | ")}`);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the deploy user cannot take a root-owned folder over: mv releases, ln -s target releases, sudo chown", async () => {
    requireTools();
    const uid = userId(USER);
    const dir = mkdtempSync(join(tmpdir(), "gen-sudo-"));
    try {
      chmodSync(dir, 0o755);
      const webRoot = join(dir, "www");
      const target = join(dir, "root-owned");
      mkdirSync(join(webRoot, "releases"), { recursive: true });
      chownSync(webRoot, uid, uid);
      chownSync(join(webRoot, "releases"), uid, uid);
      mkdirSync(target, { mode: 0o755 });
      writeFileSync(join(target, "file"), "root's\n");
      const { content } = await renderedDropIn(dir, webRoot);
      await withDropIn(dir, content, () => {
        // What the old drop-in allowed: `chown -R <deploy user>:<group> <releases>/`, the trailing / following the link.
        const attack = asUser(
          `cd '${webRoot}' && mv releases releases-moved && ln -s '${target}' releases && ` +
            `sudo -n /usr/bin/chown -R ${USER}:${USER} '${webRoot}/releases/'`,
        );
        assert.equal(statSync(target).uid, 0, `the deploy user took ${target} over: ${attack.output}`);
        assert.equal(statSync(join(target, "file")).uid, 0, `the deploy user took ${target}/file over: ${attack.output}`);
        assert.notEqual(attack.status, 0, `sudo ran the chown: ${attack.output}`);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
