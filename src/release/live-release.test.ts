// Where `current` leads, as gen status reads it: the link's target must name a release folder of paths.releases
// (relative as deploy writes it, or absolute), and anything else is said with the target escaped.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EnvironmentInputSchema, resolveEnvironment } from "../../schema/index.js";
import { orThrow } from "../transport/step-records.js";
import { liveReleaseSteps } from "./live-release.js";

const env = resolveEnvironment(
  EnvironmentInputSchema.parse({
    server: { host: "example.org", deployUser: "deployer" },
    app: { name: "tsosi", domain: "tsosi.org" },
    postgres: { name: "tsosi", user: "tsosi", password: { secret: "P" } },
    django: { settings: { SECRET_KEY: { secret: "K" } } },
  }),
);
const ID = "20261206T101010Z";
// The answers of the two steps (where current leads, then deployment.json) as the session gives them back.
const answer = (stdout: string, exitCode = 0) => ({ exitCode, stdout, stderr: "", size: Buffer.byteLength(stdout), notRun: false, skipped: false });
const read = (current: ReturnType<typeof answer>, deployment = answer("", 40)) => orThrow(liveReleaseSteps("/", env, "h").read([current, deployment]));
const linkTo = (target: string, deployment?: ReturnType<typeof answer>) => read(answer(`${JSON.stringify({ kind: "link", target })}\n`), deployment);

test("a link into the releases folder, relative, absolute or with a trailing slash, names the live release", () => {
  for (const target of [`releases/${ID}`, `/var/www/releases/${ID}`, `releases/${ID}/`, `../www/releases/${ID}`])
    assert.deepEqual(linkTo(target), { state: "release", id: ID }, target);
});

test("a link out of the releases folder, or to a name that is no release ID, is unknown, its target escaped", () => {
  for (const target of [`../../tmp/${ID}`, `releases/../${ID}`, "/etc", `releases/${ID}-x`]) assert.equal(linkTo(target).state, "unknown", target);
  assert.deepEqual(linkTo("releases/\u202eevil"), {
    state: "unknown",
    reason: "/var/www/current leads to releases/\\u202eevil, not a release folder of /var/www/releases",
  });
});

test("deployment.json: only text fields of sane length, a hash that is one, escaped", () => {
  const withDeployment = (content: unknown) => linkTo(`releases/${ID}`, answer(JSON.stringify(content)));
  assert.deepEqual(withDeployment({ branch: "main", hash: "abc1234", title: "x\u001by", deployedAt: "2026-12-06T10:10:10.000Z", extra: 1 }), {
    state: "release",
    id: ID,
    deployment: { branch: "main", hash: "abc1234", title: "x\\x1by", deployedAt: "2026-12-06T10:10:10.000Z" },
  });
  assert.deepEqual(withDeployment({ branch: 7, hash: "; rm -rf /", title: "t".repeat(301) }), { state: "release", id: ID, deployment: {} });
  assert.deepEqual(withDeployment([1, 2]), { state: "release", id: ID });
});

test("no current link: nothing is live; current that is no link, or output that is no record: unknown", () => {
  assert.deepEqual(read(answer('{"kind":"missing"}\n')), { state: "none" });
  assert.deepEqual(read(answer('{"kind":"not-a-link"}\n')), { state: "unknown", reason: "/var/www/current is not a link" });
  assert.equal(read(answer("garbage\n")).state, "unknown");
  assert.equal(read(answer("", 1)).state, "unknown");
});
