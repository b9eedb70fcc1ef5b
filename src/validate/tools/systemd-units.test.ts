import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { CELERY_BEAT_SERVICE, CONTEXT, GUNICORN_SERVICE, GUNICORN_SOCKET, replaceOnce, unitFiles } from "../../../test/fixtures/tools/reference-bundle.js";
import { assertFailedWith, assertNotRunWith, assertPassed, withEmptyPath, withScratch } from "../../../test/fixtures/tools/scratch.js";
import type { ToolCheckContext } from "./tool-report.js";
import { checkSystemdUnits } from "./systemd-units.js";

const MARKER = "/run/systemd/systemd-units-load";
const check = (overrides: Record<string, string>, context: ToolCheckContext = CONTEXT) =>
  withScratch((options) => checkSystemdUnits(unitFiles(overrides), context, options));

describe("checkSystemdUnits", () => {
  it("passes the reference units with deploy binaries and external units stubbed", async () => {
    const markerBefore = existsSync(MARKER);
    assertPassed(await check({}));
    assert.equal(existsSync(MARKER), markerBefore, "systemd-analyze touched /run on the host");
  });

  it("fails an unknown key", async () => {
    const report = await check({ "tsosi_gunicorn.service": replaceOnce(GUNICORN_SERVICE, "ExecStart=", "ExecStrat=") });
    assertFailedWith(report, "Unknown key 'ExecStrat' in section [Service]");
  });

  it("fails a value systemd cannot parse", async () => {
    const report = await check({ "tsosi_gunicorn.service": replaceOnce(GUNICORN_SERVICE, "TimeoutStopSec=5", "TimeoutStopSec=5x") });
    assertFailedWith(report, "Failed to parse");
    const socket = await check({ "tsosi_gunicorn.socket": replaceOnce(GUNICORN_SOCKET, "SocketMode=0660", "SocketMode=0960") });
    assertFailedWith(socket, "0960");
  });

  it("fails an Exec binary that is neither on this host nor a deploy binary", async () => {
    const report = await check({ "tsosi_gunicorn.service": replaceOnce(GUNICORN_SERVICE, "/bin/kill", "/bin/kil") });
    assertFailedWith(report, "Command /bin/kil is not executable");
    const undeclared = await check({}, { ...CONTEXT, deployBinaries: [] });
    assertFailedWith(undeclared, "/home/deployer/.local/bin/poetry is not executable");
  });

  it("fails a dependency on a unit that is neither rendered nor external", async () => {
    const report = await check({}, { ...CONTEXT, externalUnits: [] });
    assertFailedWith(report, "redis-server.service not found");
  });

  it("fails on output even when systemd-analyze exits 0 (odd User= name)", async () => {
    const report = await check({ "tsosi_celery_beat.service": replaceOnce(CELERY_BEAT_SERVICE, "User=deployer", "User=bad user!") });
    assertFailedWith(report, "Accepting user/group name 'bad user!'");
  });

  it("is not-run, naming the package, when systemd-analyze is missing", async () => {
    const report = await withEmptyPath((options) => checkSystemdUnits(unitFiles(), CONTEXT, options));
    assertNotRunWith(report, "systemd-analyze not found", '"systemd"');
  });
});
