// A plan saved by `gen diff --out`: the plan itself plus the hash of every rendered file, so that apply can
// refuse when the environment now renders differently or a server file changed since the review.
import { GenError } from "../errors.js";
import { fileSha256 } from "../render/render-environment.js";
import type { RenderedFile } from "../types.js";
import type { Plan } from "./plan-types.js";

export interface SavedPlan {
  format: "gen-plan/1";
  plan: Plan;
  rendered: Record<string, string>;
}

export function savePlan(plan: Plan, files: RenderedFile[]): string {
  const saved: SavedPlan = { format: "gen-plan/1", plan, rendered: Object.fromEntries(files.map((f) => [f.path, fileSha256(f)])) };
  return `${JSON.stringify(saved, null, 2)}\n`;
}

export function parseSavedPlan(text: string, file: string): SavedPlan {
  let data: Partial<SavedPlan>;
  try {
    data = JSON.parse(text) as Partial<SavedPlan>;
  } catch (error) {
    throw new GenError(`${file}: not a saved plan: ${(error as Error).message}`);
  }
  if (data.format !== "gen-plan/1" || !data.plan || !data.rendered) throw new GenError(`${file}: not a plan saved by gen diff --out`);
  return data as SavedPlan;
}

/** Why a saved plan can no longer be applied as reviewed (empty when it still can). */
export function savedPlanConflicts(saved: SavedPlan, nowRendered: RenderedFile[], now: Plan): string[] {
  const conflicts: string[] = [];
  const renderedNow = new Map(nowRendered.map((f) => [f.path, fileSha256(f)]));
  for (const [path, hash] of Object.entries(saved.rendered)) {
    if (renderedNow.get(path) !== hash) conflicts.push(`${path}: the environment now renders it differently than when the plan was saved`);
  }
  for (const path of renderedNow.keys()) if (!(path in saved.rendered)) conflicts.push(`${path}: not in the saved plan`);
  for (const host of saved.plan.hosts) {
    const hostNow = now.hosts.find((h) => h.host === host.host);
    for (const entry of host.entries) {
      const entryNow = hostNow?.entries.find((e) => e.path === entry.path);
      if (entryNow?.current?.sha256 !== entry.current?.sha256 || entryNow?.action !== entry.action) {
        conflicts.push(`${host.host}:${entry.path}: changed on the server since the plan was saved`);
      }
    }
  }
  return conflicts;
}
