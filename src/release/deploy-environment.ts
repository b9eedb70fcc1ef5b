// `gen deploy` over a whole environment, as apply-environment.ts is for gen apply: the local checks, the front-end
// build, the configuration (applied through the apply stage's entry, or refused when it drifted), then the release
// on every host. Everything local comes first: a wrong branch or a failed build has not touched any server. The
// release's connections (release-connections.ts) open while the configuration step runs.
// Progress and the configuration's report go out through `events`; the outcome comes back as plain data.
import { resolve } from "node:path";
import { applyEnvironment, type ApplyEvents, type EnvironmentApplyOutcome, refuseDrift } from "../apply/apply-environment.js";
import { GenError } from "../errors.js";
import { InterruptedError, type Interrupts } from "../interrupt.js";
import type { LoadedEnvironment } from "../load/load-environment.js";
import type { RenderResult } from "../render/render-environment.js";
import type { ConnectOptions } from "../transport/open-transport.js";
import { deployHosts, type HostDeployResult } from "./deploy-hosts.js";
import type { StepReporter } from "./deploy-release.js";
import { listBuildOutput, runLocalCommand } from "./frontend.js";
import { releaseConnections } from "./release-connections.js";
import { archiveCommit, checkBranchName, checkConfiguredFolders, type CommitInfo, readCommit, refuseUncommitted } from "./local-checks.js";

export interface EnvironmentDeployInput {
  loaded: LoadedEnvironment;
  rendered: RenderResult;
  options: ConnectOptions;
  concurrency: number;
  forceUnlock: boolean;
  /** The checkout whose commit is released. */
  repoDir: string;
  branch?: string;
  source?: "clone" | "archive";
  skipFrontBuild: boolean;
  /** Deploy even when the backend or front-end folder of the checkout has uncommitted changes. */
  allowDirty: boolean;
  restartCelery: boolean;
  /** Apply the configuration first (after confirmation), or refuse to deploy when it differs. */
  applyConfiguration: boolean;
  interrupts: Interrupts;
}

export interface DeployEvents {
  /** A numbered step of the release step starts (1-3 here; deployHosts reports 4-9 through `report`). */
  step: (number: number, title: string) => void;
  /** A line under the current step (the commit, a build command). */
  detail: (line: string) => void;
  /** What a build command prints, as it comes. */
  buildOutput: (chunk: string) => void;
  /** The configuration step's plan, question and progress (gen apply's). */
  apply: ApplyEvents;
  /** The configuration step's outcome, for its report; returns whether it allows the release to go on. */
  applied: (outcome: EnvironmentApplyOutcome) => boolean;
  report: StepReporter;
}

export interface EnvironmentDeployOutcome {
  branch: string;
  commit: CommitInfo;
  hosts: HostDeployResult[];
}

export async function deployEnvironment(input: EnvironmentDeployInput, events: DeployEvents): Promise<EnvironmentDeployOutcome> {
  const env = input.loaded.environment;
  const branch = input.branch ?? env.release.branch;
  await checkBranchName(branch);
  const repoDir = resolve(input.repoDir);
  events.step(1, `local checks in ${repoDir}`);
  const commit = await readCommit(repoDir, branch);
  events.detail(`${commit.hash.slice(0, 12)} ${commit.title} (${commit.author}, ${commit.date})`);
  // Every folder a command runs in or reads from is checked before the first command: none runs elsewhere.
  await checkConfiguredFolders(repoDir, commit.hash, env);
  const frontend = env.release.frontend;
  const releasedFolders = [env.release.repositoryFolder, ...(frontend === null ? [] : [frontend.dir])];
  if (input.allowDirty) events.detail(`--allow-dirty: uncommitted changes in ${releasedFolders.join(" and ")} are not checked`);
  else await refuseUncommitted(repoDir, releasedFolders, frontend?.output);
  if (frontend === null) {
    events.step(2, "no front end to build (release.frontend is null)");
  } else if (input.skipFrontBuild) {
    events.step(2, "front-end build skipped (--skip-front-build)");
  } else {
    events.step(2, `front-end build in ${frontend.dir}`);
    for (const command of frontend.build) {
      events.detail(`$ ${command.join(" ")}`);
      await runLocalCommand(command, resolve(repoDir, frontend.dir), events.buildOutput);
    }
  }
  const frontendDir = frontend === null ? undefined : resolve(repoDir, frontend.output);
  const files = frontendDir === undefined ? [] : await listBuildOutput(frontendDir);
  const source =
    (input.source ?? env.release.source) === "archive"
      ? { kind: "archive" as const, branch, commit: commit.hash, archive: await archiveCommit(repoDir, commit.hash, env.release.repositoryFolder) }
      : { kind: "clone" as const, branch, commit: commit.hash };
  events.step(3, `configuration of ${input.loaded.name}`);
  const applyInput = { ...input, dryRun: false };
  const release = releaseConnections(env, input.options, frontendDir !== undefined || source.kind === "archive");
  try {
    // The release's connections start with the configuration step's when they are the same, else once its plan is
    // known (its connections checked the host keys by then): either way, ready when the release starts.
    if (release.shared) release.warm(input.concurrency);
    const connections = release.shared ? { connections: release.shared } : {};
    if (input.applyConfiguration) {
      const planned: ApplyEvents["planned"] = (plan, serverFiles) => {
        events.apply.planned(plan, serverFiles);
        release.warm(input.concurrency);
      };
      const goOn = events.applied(await applyEnvironment({ ...applyInput, ...connections }, { ...events.apply, planned }));
      if (input.interrupts.signal)
        throw new InterruptedError(input.interrupts.signal, `interrupted (${input.interrupts.signal}) in the configuration step (above); nothing was deployed`);
      if (!goOn) throw new GenError("applying the configuration failed or was declined; nothing was deployed");
    } else {
      await refuseDrift({ ...applyInput, ...connections }, events.apply.planned);
      release.warm(input.concurrency);
    }
    const deployInput = {
      environment: env,
      commit,
      source,
      frontend: frontendDir === undefined ? null : { dir: frontendDir, files },
      restartCelery: input.restartCelery,
      forceUnlock: input.forceUnlock,
    };
    const hosts = await deployHosts(deployInput, input.options, input.concurrency, events.report, input.interrupts, release);
    return { branch, commit, hosts };
  } finally {
    await release.close();
  }
}
