// systemd units: `systemd-analyze verify` against a throwaway --root holding the rendered units, the host's
// targets, stub units for context.externalUnits and stub executables for context.deployBinaries (and for
// Exec binaries that exist on this host). With the environment complete, any output is a real finding.
// In: rendered files of kind "systemd-unit" + context. Out: one "systemd-analyze" report.
// Effects: writes only in a throwaway folder. verify itself also writes /run/systemd/systemd-units-load and
// scratch folders in /tmp on the host, so as root it runs in a private mount namespace (see runIsolated).

import { copyFile, mkdir, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { RenderedFile } from "../../types.js";
import { inMountNamespace, namespaceSupport } from "./namespaces.js";
import type { ToolCheckContext, ToolReport, ToolRunOptions } from "./tool-report.js";
import {
  childEnv,
  describeExit,
  envOf,
  findExecutable,
  isExecutableFile,
  isRoot,
  missingBinary,
  notRun,
  outputLines,
  report,
  runCommand,
  timeoutOf,
  uniqueLines,
  withTempDir,
} from "./tool-runner.js";

const HOST_UNIT_DIR = "/usr/lib/systemd/system";
const UNIT_DIRS = ["/etc/systemd/system/", "/usr/lib/systemd/system/", "/lib/systemd/system/"];
const UNITS_LOAD_MARKER = "/run/systemd/systemd-units-load";
/** Where the fake root appears inside the mount namespace (on the private /run tmpfs). */
const ISOLATED_ROOT = "/run/gen-systemd-root";

export async function checkSystemdUnits(files: RenderedFile[], context: ToolCheckContext, options: ToolRunOptions = {}): Promise<ToolReport> {
  const paths = files.map((file) => file.path);
  if (files.length === 0) return notRun("systemd-analyze", [], "no systemd units");
  const analyze = await findExecutable("systemd-analyze", envOf(options));
  if (analyze === undefined) return missingBinary("systemd-analyze", paths, "systemd-analyze", "systemd");
  return withTempDir("systemd", options, async (dir) => {
    const root = join(dir, "root");
    const names = await buildRoot(root, files, context);
    const verify = (rootSeen: string) => [analyze, "verify", "--man=no", "--generators=no", "--recursive-errors=yes", `--root=${rootSeen}`, ...names];
    const { output, rootSeen, notes } = await runIsolated(verify, root, dir, options);
    if (output.exitCode === 125 && output.failure === undefined && /mount/.test(output.stderr)) {
      return notRun("systemd-analyze", paths, `could not set up the private mount namespace: ${output.stderr.trim()}`);
    }
    const lines = uniqueLines(
      outputLines(`${output.stdout}\n${output.stderr}`, [
        [rootSeen, ""],
        [dir, "<tmp>"],
      ]),
    );
    if (output.exitCode !== 0 && lines.length === 0) lines.push(describeExit("systemd-analyze", output));
    return { ...report("systemd-analyze", paths, lines), messages: [...lines, ...notes] };
  });
}

/** Fills the fake root; returns the unit names to verify. */
async function buildRoot(root: string, files: RenderedFile[], context: ToolCheckContext): Promise<string[]> {
  const systemDir = join(root, "etc/systemd/system");
  const vendorDir = join(root, "usr/lib/systemd/system");
  await Promise.all([systemDir, vendorDir, join(root, "usr/bin"), join(root, "usr/sbin")].map((d) => mkdir(d, { recursive: true })));
  await Promise.all(
    [
      ["usr/bin", "bin"],
      ["usr/sbin", "sbin"],
      ["usr/lib", "lib"],
    ].map(([to, from]) => symlink(to!, join(root, from!))),
  );
  await copyHostTargets(vendorDir);
  await Promise.all(context.externalUnits.filter(isUnitName).map((name) => writeFile(join(vendorDir, name), stubUnit(name))));
  const names: string[] = [];
  for (const file of files) {
    const relative = unitRelativePath(file.path);
    await mkdir(dirname(join(systemDir, relative)), { recursive: true });
    await writeFile(join(systemDir, relative), file.content);
    if (!relative.includes("/")) names.push(relative);
  }
  await stubExecutables(root, files, context);
  return names;
}

async function copyHostTargets(vendorDir: string): Promise<void> {
  const entries = await readdir(HOST_UNIT_DIR).catch(() => [] as string[]);
  await Promise.all(entries.filter((name) => name.endsWith(".target")).map((name) => copyFile(join(HOST_UNIT_DIR, name), join(vendorDir, name))));
}

function isUnitName(name: string): boolean {
  return /^[A-Za-z0-9:_.\\@-]+\.[a-z]+$/.test(name) && !name.startsWith(".");
}

/** A unit that loads cleanly and satisfies dependencies on `name`. */
function stubUnit(name: string): string {
  const header = `[Unit]\nDescription=stand-in for ${name}\n`;
  if (name.endsWith(".service")) return `${header}[Service]\nExecStart=/bin/true\n`;
  if (name.endsWith(".socket")) return `${header}[Socket]\nListenStream=/run/gen-stub-${name}\n`;
  if (name.endsWith(".timer")) return `${header}[Timer]\nOnCalendar=daily\nUnit=gen-stub.service\n`;
  return header;
}

/** /etc/systemd/system/foo.service.d/x.conf -> foo.service.d/x.conf; other locations -> the file name. */
function unitRelativePath(path: string): string {
  const base = UNIT_DIRS.find((dir) => path.startsWith(dir));
  const relative = base === undefined ? path.slice(path.lastIndexOf("/") + 1) : path.slice(base.length);
  return relative
    .split("/")
    .filter((part) => part !== "" && part !== "." && part !== "..")
    .join("/");
}

/** Exec binaries are resolved inside --root: stub deploy binaries and those that exist on this host. */
async function stubExecutables(root: string, files: RenderedFile[], context: ToolCheckContext): Promise<void> {
  const binaries = new Set(["/bin/true"]);
  for (const file of files) {
    for (const match of file.content.matchAll(/^\s*Exec[A-Za-z]*=[-@:+!|]*(\/[^\s]+)/gm)) binaries.add(match[1]!);
  }
  const deploy = new Set(context.deployBinaries);
  for (const binary of binaries) {
    if (binary.includes("/../") || binary.includes("%")) continue;
    if (!deploy.has(binary) && !(await isExecutableFile(binary))) continue;
    const stub = join(root, binary);
    await mkdir(dirname(stub), { recursive: true });
    await writeFile(stub, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  }
}

/**
 * As root with a mount namespace: tmpfs over /run (the units-load marker) and over /tmp (verify makes its
 * scratch folders there whatever TMPDIR says), the fake root bind-mounted at ISOLATED_ROOT. Otherwise it runs
 * plainly and a units-load marker it created on the host is removed again.
 */
async function runIsolated(verify: (rootSeen: string) => string[], root: string, dir: string, options: ToolRunOptions) {
  const timeoutMs = timeoutOf(options);
  const support = isRoot() ? await namespaceSupport(options) : {};
  if (support.mount !== undefined) {
    const mounts: Array<[string, string]> = [
      ["tmpfs", "/run"],
      [root, ISOLATED_ROOT],
      ["tmpfs", "/tmp"],
    ];
    const argv = inMountNamespace(support, mounts, verify(ISOLATED_ROOT));
    const env = { ...childEnv(options, dir), TMPDIR: "/tmp" };
    return { output: await runCommand(argv[0]!, argv.slice(1), { env, timeoutMs }), rootSeen: ISOLATED_ROOT, notes: [] };
  }
  const argv = verify(root);
  const markerExisted = isRoot() && (await exists(UNITS_LOAD_MARKER));
  const output = await runCommand(argv[0]!, argv.slice(1), { env: childEnv(options, dir), timeoutMs });
  if (isRoot() && !markerExisted) await rm(UNITS_LOAD_MARKER, { force: true });
  const notes = isRoot()
    ? ["note: ran without a private mount namespace (unavailable or disabled): verify briefly used /run/systemd and /tmp on the host"]
    : [];
  return { output, rootSeen: root, notes };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
