// planChanges is pure: these cases need no server, only a rendered file set and a described host state.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RenderedFile } from "../types.js";
import { sha256 } from "../render/render-environment.js";
import { hostDiffers, planChanges, planHasChanges, planNeedsApply, summarizePlan, unreadableEntries, unrecordedEntries } from "./plan-changes.js";
import { probeSteps } from "./server-probe.js";
import { orThrow } from "../transport/step-records.js";
import type { HostState, ServerFile } from "./server-state.js";

const none = { reload: [], restart: [] };
function file(path: string, content: string, extra: Partial<RenderedFile> = {}): RenderedFile {
  return { path, kind: "other", content, mode: "0644", owner: "root", group: "root", secret: false, roles: ["web", "worker"], handlers: none, ...extra };
}
function onServer(content: string, meta: Partial<{ mode: string; owner: string; group: string; linkTarget: string }> = {}): ServerFile {
  return { status: "ok", side: { sha256: sha256(content), mode: "0644", owner: "root", group: "root", ...meta }, content };
}
function state(files: Record<string, ServerFile>, extra: Partial<HostState> = {}): HostState {
  return { transport: "test", files: new Map(Object.entries(files)), folders: new Map(), ...extra };
}

describe("planChanges", () => {
  const files = [file("/etc/a", "A\n"), file("/etc/b", "B\n"), file("/etc/c", "C\n"), file("/etc/d", "D\n", { mode: "0440" })];

  test("tells create, change, unchanged and unreadable apart, and what changed", () => {
    const plan = planChanges(
      "t",
      files,
      [],
      [
        {
          host: "h",
          roles: ["web"],
          state: state({
            "/etc/a": onServer("A\n"),
            "/etc/b": onServer("old\n"),
            "/etc/d": onServer("D\n", { mode: "0644", owner: "deployer" }),
            "/etc/c": { status: "missing" },
          }),
        },
      ],
    );
    const byPath = Object.fromEntries(plan.hosts[0]!.entries.map((e) => [e.path, e]));
    assert.equal(byPath["/etc/a"]!.action, "unchanged");
    assert.deepEqual([byPath["/etc/b"]!.action, byPath["/etc/b"]!.changes], ["change", ["content"]]);
    assert.equal(byPath["/etc/c"]!.action, "create");
    assert.deepEqual([byPath["/etc/d"]!.action, byPath["/etc/d"]!.changes], ["change", ["mode", "owner"]]);
    assert.deepEqual(summarizePlan(plan), { create: 1, change: 2, unchanged: 1, unreadable: 0, editedOnServer: 0, failedHosts: 0 });
    assert.equal(planHasChanges(plan), true);
  });

  test("reports an unreadable file as unreadable with its reason, never as create", () => {
    const plan = planChanges(
      "t",
      [files[0]!],
      [],
      [{ host: "h", roles: ["web"], state: state({ "/etc/a": { status: "unreadable", reason: "permission denied" } }) }],
    );
    assert.deepEqual([plan.hosts[0]!.entries[0]!.action, plan.hosts[0]!.entries[0]!.reason], ["unreadable", "permission denied"]);
  });

  test("marks a file that no longer matches gen's record as edited on the server", () => {
    const applied = { "/etc/a": sha256("A\n"), "/etc/b": sha256("B\n") };
    const plan = planChanges(
      "t",
      files.slice(0, 2),
      [],
      [{ host: "h", roles: ["web"], state: state({ "/etc/a": onServer("A\n"), "/etc/b": onServer("hand edit\n") }, { applied }) }],
    );
    const [a, b] = plan.hosts[0]!.entries;
    assert.equal(a!.editedOnServer, false);
    assert.deepEqual([b!.action, b!.editedOnServer], ["change", true]);
  });

  test("a file in place but not in the record (an interrupted apply) needs apply, though nothing differs", () => {
    const applied = { "/etc/a": sha256("older\n") };
    const plan = planChanges("t", [files[0]!], [], [{ host: "h", roles: ["web"], state: state({ "/etc/a": onServer("A\n") }, { applied }) }]);
    assert.equal(planHasChanges(plan), false);
    assert.deepEqual(
      unrecordedEntries(plan.hosts[0]!).map((e) => e.path),
      ["/etc/a"],
    );
    assert.equal(planNeedsApply(plan), true);
  });

  test("a host gets only the files of its roles, and an unreachable host keeps its error", () => {
    const worker = file("/etc/w", "W\n", { roles: ["worker"] });
    const plan = planChanges(
      "t",
      [files[0]!, worker],
      [],
      [
        { host: "web1", roles: ["web"], state: state({ "/etc/a": onServer("A\n") }) },
        { host: "down", roles: ["worker"], state: { error: "connection refused", transport: "x" } },
      ],
    );
    assert.deepEqual(
      plan.hosts[0]!.entries.map((e) => e.path),
      ["/etc/a"],
    );
    assert.deepEqual([plan.hosts[1]!.entries, plan.hosts[1]!.error], [[], "connection refused"]);
    assert.equal(summarizePlan(plan).failedHosts, 1);
  });

  test("compares a symlink by its target only", () => {
    const link = file("/etc/l", "", { kind: "symlink", linkTarget: "/etc/target", mode: "0777" });
    const same = planChanges(
      "t",
      [link],
      [],
      [{ host: "h", roles: ["web"], state: state({ "/etc/l": onServer("", { linkTarget: "/etc/target", mode: "0777" }) }) }],
    );
    const moved = planChanges(
      "t",
      [link],
      [],
      [{ host: "h", roles: ["web"], state: state({ "/etc/l": onServer("", { linkTarget: "/elsewhere", mode: "0777" }) }) }],
    );
    assert.equal(same.hosts[0]!.entries[0]!.action, "unchanged");
    assert.deepEqual(moved.hosts[0]!.entries[0]!.changes, ["link"]);
  });

  test("plans folders to create and to fix", () => {
    const folders = [
      { path: "/var/log/app", owner: "deployer", group: "deployer", mode: "0755", roles: ["web"] },
      { path: "/srv/m", owner: "deployer", group: "www-data", mode: "0755", roles: ["web"] },
    ];
    const plan = planChanges("t", [], folders, [
      { host: "h", roles: ["web"], state: { ...state({}), folders: new Map([["/srv/m", { owner: "root", group: "root", mode: "0755", type: "directory" }]]) } },
    ]);
    assert.deepEqual(
      plan.hosts[0]!.folders.map((f) => f.action),
      ["create", "fix"],
    );
  });
});

describe("the server probe", () => {
  const answer = (stdout: string, stderr = "") => ({ exitCode: 0, stdout, stderr, size: Buffer.byteLength(stdout), notRun: false, skipped: false });

  test("reads the probe's records into per-path results, the record and the lock", () => {
    const paths = ["/etc/a", "/etc/gone", "/etc/secret", "/etc/link", "/var/dir", "/etc/behind", "/etc/unreported"].map((path) => ({ path }));
    const hash = "a".repeat(64);
    const owned = { owner: "root", group: "root" };
    const records = [
      { kind: "file", path: "/etc/a", mode: "0644", ...owned, size: 12, sha256: hash, content: "x|y\n" },
      { kind: "missing", path: "/etc/gone" },
      { kind: "unreadable", path: "/etc/secret", reason: "Permission denied" },
      { kind: "symlink", path: "/etc/link", mode: "0777", ...owned, target: "/etc/ta|rget" },
      { kind: "directory", path: "/var/dir", mode: "2755", owner: "deployer", group: "www-data" },
      { kind: "unreadable", path: "/etc/behind", reason: 41, link: "/etc" },
      { kind: "read", path: "/var/lib/gen/x/applied.json", status: 0, size: 13, content: '{"files":{}}\n' },
      { kind: "folder", path: "/var/lib/gen/x/lock", found: true },
      { kind: "read", path: "/var/lib/gen/x/lock/holder.json", status: 0, size: 14, content: '{"who":"a@b"}\n' },
    ];
    const stdout = records.map((r) => JSON.stringify(r)).join("\n");
    const probe = orThrow(probeSteps("/r", paths, "/var/lib/gen/x/lock", "/var/lib/gen/x/applied.json").read([answer(stdout)]));
    assert.deepEqual(probe.results, [
      { status: "ok", type: "file", mode: "0644", ...owned, size: 12, sha256: hash, content: "x|y\n" },
      { status: "missing" },
      { status: "unreadable", reason: "Permission denied" },
      { status: "ok", type: "symlink", mode: "0777", ...owned, linkTarget: "/etc/ta|rget" },
      { status: "ok", type: "directory", mode: "2755", owner: "deployer", group: "www-data" },
      { status: "unreadable", reason: "a symbolic link is on the way: gen does not read through a link it did not make (/etc is a symbolic link)" },
      { status: "unreadable", reason: "the probe did not report it" },
    ]);
    assert.deepEqual([probe.locked, probe.lockHolder, probe.record], [true, '{"who":"a@b"}', '{"files":{}}']);
  });

  test("a record or holder larger than its limit, or not read, is no record and an unknown holder", () => {
    const records = [
      { kind: "read", path: "/s/applied.json", status: 0, size: 1024 * 1024 + 1, content: '{"files":{}}' },
      { kind: "folder", path: "/s/lock", found: true },
      { kind: "read", path: "/s/lock/holder.json", status: 41 },
    ];
    const probe = orThrow(probeSteps("/r", [], "/s/lock", "/s/applied.json").read([answer(records.map((r) => JSON.stringify(r)).join("\n"))]));
    assert.deepEqual([probe.locked, probe.lockHolder, probe.record], [true, "", ""]);
  });

  test("under gen's own lock the probe does not ask for the lock: without that answer it is not locked", () => {
    const steps = probeSteps("/r", [{ path: "/etc/a" }], undefined, "/var/lib/gen/x/applied.json");
    assert.equal(steps.wire.length, 1);
    // A row's path ends with a NUL (the program's own text names the lock folder too).
    assert.doesNotMatch(String(steps.wire[0]!.stdin), /locks\/lock(\/holder\.json)?\0/);
    const probe = orThrow(steps.read([answer('{"kind":"read","path":"/var/lib/gen/x/applied.json","status":0,"size":12,"content":"{\\"files\\":{}}"}\n')]));
    assert.deepEqual([probe.locked, probe.record], [false, '{"files":{}}']);
  });

  test("the paths travel in the program's input, not in the script the server's shell reads", () => {
    const [step] = probeSteps("/tmp/root", [{ path: "/etc/it's" }], "/var/lib/gen/x/lock", "/var/lib/gen/x/applied.json").wire;
    assert.doesNotMatch(step!.script, /it's|\/tmp\/root/);
    assert.ok(Buffer.from(step!.stdin!).includes("/etc/it's\0"));
    assert.ok(step!.script.length < 1024, step!.script);
  });
});

describe("what a plan tells", () => {
  const host = (input: {
    files?: RenderedFile[];
    server?: Record<string, ServerFile>;
    extra?: Partial<HostState>;
    folders?: Parameters<typeof planChanges>[2];
  }) => planChanges("t", input.files ?? [], input.folders ?? [], [{ host: "h", roles: ["web"], state: state(input.server ?? {}, input.extra) }]);

  test("counts every action, files edited on the server and hosts that failed", () => {
    const plan = planChanges(
      "t",
      [file("/etc/a", "A\n"), file("/etc/b", "B\n"), file("/etc/c", "C\n")],
      [],
      [
        {
          host: "h",
          roles: ["web"],
          state: state(
            { "/etc/a": { status: "unreadable", reason: "denied" }, "/etc/b": onServer("hand edit\n"), "/etc/c": { status: "missing" } },
            { applied: { "/etc/b": sha256("B\n"), "/etc/c": sha256("C\n") } },
          ),
        },
        { host: "down", roles: ["web"], state: { error: "refused", transport: "x" } },
      ],
    );
    assert.deepEqual(summarizePlan(plan), { create: 1, change: 1, unchanged: 0, unreadable: 1, editedOnServer: 2, failedHosts: 1 });
    // A file gen applied and someone removed is edited on the server too; one it never applied is not.
    assert.deepEqual(
      plan.hosts[0]!.entries.map((e) => [e.path, e.editedOnServer]),
      [
        ["/etc/a", false],
        ["/etc/b", true],
        ["/etc/c", true],
      ],
    );
    assert.equal(host({ files: [file("/etc/c", "C\n")] }).hosts[0]!.entries[0]!.editedOnServer, false);
  });

  test("names each file it could not read, with the reason when there is one", () => {
    const plan = host({
      files: [file("/etc/a", "A\n"), file("/etc/b", "B\n"), file("/etc/c", "C\n")],
      server: { "/etc/a": { status: "unreadable", reason: "permission denied" }, "/etc/b": { status: "unreadable", reason: "" }, "/etc/c": onServer("C\n") },
    });
    assert.deepEqual(unreadableEntries(plan), ["h: /etc/a (permission denied)", "h: /etc/b"]);
  });

  test("a lock left on a host needs apply (to release it) though nothing changes, and is passed on", () => {
    const locked = host({ extra: { lock: "ada (gen apply, pid 1) since t" } });
    assert.equal(locked.hosts[0]!.lock, "ada (gen apply, pid 1) since t");
    assert.deepEqual([planHasChanges(locked), planNeedsApply(locked)], [false, true]);
    const clean = host({ files: [file("/etc/a", "A\n")], server: { "/etc/a": onServer("A\n") } });
    assert.equal("lock" in clean.hosts[0]!, false);
    assert.deepEqual([planHasChanges(clean), planNeedsApply(clean)], [false, false]);
  });

  test("a file to create is a change; so is a folder to create or fix, and nothing else", () => {
    assert.equal(planHasChanges(host({ files: [file("/etc/a", "A\n")], server: { "/etc/a": { status: "missing" } } })), true);
    const folder = { path: "/srv/m", owner: "deployer", group: "www-data", mode: "0755", roles: ["web"] };
    const as = (current: { owner: string; group: string; mode: string; type: string }) =>
      host({ folders: [folder], extra: { folders: new Map([["/srv/m", current]]) } });
    const right = { owner: "deployer", group: "www-data", mode: "0755", type: "directory" };
    assert.equal(planHasChanges(as(right)), false);
    assert.equal(as(right).hosts[0]!.folders[0]!.action, "unchanged");
    for (const wrong of [{ owner: "root" }, { group: "root" }, { mode: "0777" }, { type: "file" }]) {
      const plan = as({ ...right, ...wrong });
      assert.deepEqual([plan.hosts[0]!.folders[0]!.action, planHasChanges(plan)], ["fix", true], JSON.stringify(wrong));
    }
  });

  test("gen diff's difference on a host (its exit status 2, gen status's drift): a file to create, change or that cannot be read, or a folder to fix", () => {
    const differs = (plan: ReturnType<typeof host>) => hostDiffers(plan.hosts[0]!);
    assert.equal(differs(host({ files: [file("/etc/a", "A\n")], server: { "/etc/a": onServer("A\n") } })), false, "unchanged");
    assert.equal(differs(host({ files: [file("/etc/a", "A\n")], server: { "/etc/a": { status: "missing" } } })), true, "create");
    assert.equal(differs(host({ files: [file("/etc/a", "A\n")], server: { "/etc/a": onServer("old\n") } })), true, "change");
    assert.equal(differs(host({ files: [file("/etc/a", "A\n")], server: { "/etc/a": { status: "unreadable", reason: "denied" } } })), true, "unreadable");
    assert.equal(differs(host({ extra: { lock: "ada (gen apply, pid 1) since t" } })), false, "a lock alone is no difference");
    const folder = { path: "/srv/m", owner: "deployer", group: "www-data", mode: "0755", roles: ["web"] };
    const right = { owner: "deployer", group: "www-data", mode: "0755", type: "directory" };
    const withFolder = (current: typeof right) => host({ folders: [folder], extra: { folders: new Map([["/srv/m", current]]) } });
    assert.equal(differs(withFolder(right)), false, "a folder as it should be");
    assert.equal(differs(withFolder({ ...right, mode: "0700" })), true, "a folder to fix");
  });

  test("a link where a file should be is a content change, and a group alone is a group change", () => {
    const plan = host({
      files: [file("/etc/a", "A\n"), file("/etc/b", "B\n")],
      server: { "/etc/a": onServer("A\n", { linkTarget: "/elsewhere" }), "/etc/b": onServer("B\n", { group: "adm" }) },
    });
    assert.deepEqual(
      plan.hosts[0]!.entries.map((e) => e.changes),
      [["content"], ["group"]],
    );
    const link = file("/etc/l", "", { kind: "symlink", linkTarget: "/etc/target" });
    assert.deepEqual(host({ files: [link] }).hosts[0]!.entries[0]!.desired.linkTarget, "/etc/target");
    assert.equal("linkTarget" in host({ files: [file("/etc/a", "A\n")] }).hosts[0]!.entries[0]!.desired, false);
  });
});

describe("a plan over several hosts", () => {
  const clean = { host: "clean", roles: ["web"], state: state({ "/etc/a": onServer("A\n") }) };

  test("needs apply, and has changes, when any one host does", () => {
    const locked = planChanges(
      "t",
      [file("/etc/a", "A\n")],
      [],
      [clean, { host: "locked", roles: ["web"], state: state({ "/etc/a": onServer("A\n") }, { lock: "x" }) }],
    );
    assert.deepEqual([planHasChanges(locked), planNeedsApply(locked)], [false, true]);
    const changed = planChanges("t", [file("/etc/a", "A\n")], [], [clean, { host: "changed", roles: ["web"], state: state({ "/etc/a": onServer("old\n") }) }]);
    assert.deepEqual([planHasChanges(changed), planNeedsApply(changed)], [true, true]);
  });

  test("a host that could not be read plans nothing; a file to create or unreadable has no changes listed", () => {
    const folders = [{ path: "/srv/m", owner: "deployer", group: "www-data", mode: "0755", roles: ["web"] }];
    const plan = planChanges("t", [file("/etc/a", "A\n"), file("/etc/b", "B\n")], folders, [
      { host: "down", roles: ["web"], state: { error: "refused", transport: "x" } },
      { host: "h", roles: ["web"], state: state({ "/etc/a": { status: "missing" }, "/etc/b": { status: "unreadable", reason: "denied" } }) },
    ]);
    assert.deepEqual([plan.hosts[0]!.entries, plan.hosts[0]!.folders], [[], []]);
    assert.deepEqual(
      plan.hosts[1]!.entries.map((e) => [e.action, e.changes]),
      [
        ["create", []],
        ["unreadable", []],
      ],
    );
  });

  test("only a file already as wanted is one to finish: a hand-edited file to change is not", () => {
    const plan = planChanges(
      "t",
      [file("/etc/a", "A\n")],
      [],
      [{ host: "h", roles: ["web"], state: state({ "/etc/a": onServer("hand\n") }, { applied: { "/etc/a": sha256("A\n") } }) }],
    );
    assert.deepEqual(
      plan.hosts[0]!.entries.map((e) => [e.action, e.editedOnServer]),
      [["change", true]],
    );
    assert.deepEqual(unrecordedEntries(plan.hosts[0]!), []);
  });
});
