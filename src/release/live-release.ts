// Which release is live on a host, read for gen status: where `current` leads and that release's deployment.json.
// Both are the deploy user's, so hostile input, read as root too: the link is read with readlink (never followed),
// its target must name a release folder gen made (paths.releases/<id>), and deployment.json is read as
// safe-read.ts reads (no link on the way, a regular file, at most RELEASE_FILE_LIMIT bytes). Text kept from them is
// cut short and has its control characters escaped. Pure: a typed step group (scripts and parsers); the caller sends it.
import { posix } from "node:path";
import * as z from "zod/mini";
import type { Environment } from "../../schema/index.js";
import { READ_MISSING, readRoot, safeReadFunctions } from "../server/safe-read.js";
import { visibleText } from "../server/server-text.js";
import { pathUnderRoot } from "../transport/root-path.js";
import { quoteArg } from "../transport/shell-quote.js";
import { jsonStringFunction, oneRecord, printRecord, printServerRecord } from "../transport/step-records.js";
import { combine, type StepGroup, type StepOutput, type TypedStep } from "../transport/typed-steps.js";
import { RELEASE_ID } from "./release-history.js";
import { RELEASE_FILE_LIMIT } from "./releases.js";

/** What deployment.json says of the live release (each field only when it is text of a sane length). */
export interface LiveDeployment {
  branch?: string;
  hash?: string;
  title?: string;
  deployedAt?: string;
}

export type LiveRelease =
  | { state: "none" }
  | { state: "release"; id: string; deployment?: LiveDeployment }
  /** `current` is there but is no link, or leads somewhere that is not a release folder gen made. */
  | { state: "unknown"; reason: string };

const READ_CURRENT = "reading where current leads";
const READ_DEPLOYMENT = "reading the live release's deployment.json";
// The release ID's shape as an sh pattern (RELEASE_ID), for the step that reads deployment.json.
const ID_PATTERN = "[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z";

/**
 * Where `current` leads (one record) and the deployment.json of the release it names, read into the live release; the
 * caller sends them (gen status, in the probe's round trip). `where` names the host in what is said.
 */
export function liveReleaseSteps(root: string, env: Environment, where: string): StepGroup<LiveRelease> {
  const current = quoteArg(pathUnderRoot(root, env.paths.current));
  const link: TypedStep<Current> = {
    name: READ_CURRENT,
    script: [
      jsonStringFunction(),
      `if [ -L ${current} ]; then t=$(readlink -- ${current}) || exit 1; ${printServerRecord({ kind: "link" }, "target", '"$t"')}`,
      `elif [ -e ${current} ]; then ${printRecord({ kind: "not-a-link" })}`,
      `else ${printRecord({ kind: "missing" })}; fi`,
    ].join("\n"),
    parse: (run) => ({ ok: true, value: currentOf(where, run) }),
  };
  const folder = `${quoteArg(`${env.paths.releases}/`)}"$id"${quoteArg(`/${env.paths.publicDir}`)}`;
  const deployment: TypedStep<LiveDeployment | undefined> = {
    name: READ_DEPLOYMENT,
    script: [
      safeReadFunctions(),
      `t=$(readlink -- ${current} 2>/dev/null) || exit ${READ_MISSING}`,
      `while :; do case $t in */) t=\${t%/} ;; *) break ;; esac; done`,
      `id=\${t##*/}`,
      `case $id in ${ID_PATTERN}) ;; *) exit ${READ_MISSING} ;; esac`,
      `gen_read ${quoteArg(readRoot(root))} ${folder} deployment.json ${RELEASE_FILE_LIMIT + 1}`,
    ].join("\n"),
    parse: (run) => ({ ok: true, value: run.exitCode === 0 ? deploymentOf(run) : undefined }),
  };
  return combine([link, deployment], ([found, deployed]) => ({ ok: true, value: liveRelease(env, found, deployed) }));
}

const CurrentRecord = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("link"), target: z.string() }),
  z.object({ kind: z.literal("not-a-link") }),
  z.object({ kind: z.literal("missing") }),
]);

/** What the step found at `current`, or why it could not tell. */
type Current = z.infer<typeof CurrentRecord> | { kind: "unreadable"; reason: string };

function currentOf(where: string, run: StepOutput): Current {
  if (run.exitCode !== 0) return { kind: "unreadable", reason: `${READ_CURRENT} on ${where} failed (exit ${run.exitCode})` };
  const parsed = oneRecord(`${READ_CURRENT} on ${where}`, run, CurrentRecord);
  return parsed.ok ? parsed.value : { kind: "unreadable", reason: parsed.error.message };
}

/** The live release from where `current` leads; its deployment.json only counts when that is a release folder. */
function liveRelease(env: Environment, current: Current, deployment: LiveDeployment | undefined): LiveRelease {
  if (current.kind === "unreadable") return { state: "unknown", reason: current.reason };
  if (current.kind === "missing") return { state: "none" };
  if (current.kind === "not-a-link") return { state: "unknown", reason: `${env.paths.current} is not a link` };
  const target = current.target.replace(/(.)\/+$/, "$1");
  const id = target.split("/").pop() ?? "";
  const inReleases = posix.resolve(posix.dirname(env.paths.current), target) === posix.join(env.paths.releases, id);
  if (!RELEASE_ID.test(id) || !inReleases)
    return { state: "unknown", reason: `${env.paths.current} leads to ${shown(current.target, 300)}, not a release folder of ${env.paths.releases}` };
  return { state: "release", id, ...(deployment ? { deployment } : {}) };
}

function deploymentOf(run: StepOutput): LiveDeployment | undefined {
  if (run.size > RELEASE_FILE_LIMIT) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(run.stdout);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const raw = value as Record<string, unknown>;
  const textOf = (field: unknown, max: number) => (typeof field === "string" && field.length <= max ? shown(field, max) : undefined);
  const hash = typeof raw.hash === "string" && /^[0-9a-f]{7,64}$/.test(raw.hash) ? raw.hash : undefined;
  const fields = { branch: textOf(raw.branch, 256), hash, title: textOf(raw.title, 300), deployedAt: textOf(raw.deployedAt, 64) };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as LiveDeployment;
}

/** Server text as gen keeps it: at most `max` characters, control characters escaped. */
function shown(text: string, max: number): string {
  return visibleText(text.length > max ? `${text.slice(0, max)}…` : text);
}
