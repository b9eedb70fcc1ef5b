// The release's build (deploy's step 5), once its folder was made: the backend fetched, the environment's commands each
// in a round trip of its own with gen's own steps riding in front, and the front end uploaded meanwhile on the upload
// connection. What is left of gen's steps goes with the switch's round trip (deploy-release.ts).
import { posix } from "node:path";
import type { Environment } from "../../schema/index.js";
import type { ServerShell } from "../server/server-shell.js";
import { GenError } from "../errors.js";
import { chainEach, combine, runStep, type StepPart, type TypedStep } from "../transport/typed-steps.js";
import {
  commandStep,
  fetchSteps,
  frontendReadableStep,
  putArchive,
  putFrontend,
  settingsLinkStep,
  type ReleaseOutput,
  type ReleaseSource,
  type Uploads,
} from "./build-release.js";
import { migrationsFileStep, migrationsStep } from "./migrations.js";

/** What the build needs of the deploy's input. */
export interface BuildInput {
  environment: Environment;
  source: ReleaseSource;
  /** The front end's build output; null without a front end. */
  frontend: { dir: string; files: string[] } | null;
}

/** What step 5 leaves for the switch's round trip: gen's steps not sent yet, and the commit the server has. */
export interface Built {
  own: StepPart<unknown>[];
  serverCommit: string;
}

/**
 * The release's build after its folder was made: the backend fetched, the environment's commands (release.install,
 * the settings link, release.tasks, release.migrations), each in a round trip of its own with gen's steps before it
 * chained in front, and the front end uploaded meanwhile. `stop` throws once gen was asked to stop: called before each
 * command (and each file), so none starts after.
 */
export async function buildRelease(
  shell: ServerShell,
  input: BuildInput,
  out: ReleaseOutput,
  releaseDir: string,
  uploads: Uploads,
  stop: () => void,
): Promise<Built> {
  const env = input.environment;
  const backend = `${releaseDir}/${env.paths.backendDir}`;
  if (input.source.kind === "archive") {
    stop();
    await putArchive(uploads, releaseDir, input.source.archive!);
  }
  const upload = frontendUpload(input, uploads, releaseDir, out, stop);
  let serverCommit: string | undefined;
  let own: StepPart<unknown>[] = [
    combine([fetchSteps(shell, env, releaseDir, input.source, out)], ([commit]) => {
      serverCommit = commit;
      return { ok: true, value: undefined };
    }),
  ];
  /** gen's steps not sent yet, then `command`, in one round trip; the command's value. */
  const send = async <T>(command: TypedStep<T> | undefined): Promise<T | undefined> => {
    stop();
    upload.check();
    const values = await runStep(shell, chainEach([...own, ...(command ? [command as StepPart<unknown>] : [])]));
    own = [];
    // Every step before the last succeeded (a failure's parser throws): the last ran.
    return command ? (values.at(-1) as T) : undefined;
  };
  const run = (argv: string[]) => {
    out.onCommand(`$ ${argv.join(" ")}`);
    return send(commandStep(shell, argv, backend, out));
  };
  try {
    for (const argv of env.release.install) await run(argv);
    own.push(settingsLinkStep(shell, env, releaseDir));
    for (const argv of env.release.tasks) await run(argv);
    const migrations = migrationsStep(shell, env, releaseDir);
    if (migrations) {
      out.onCommand(`$ ${env.release.migrations!.join(" ")}`);
      const applied = (await send(migrations))!;
      own.push(migrationsFileStep(shell, env, posix.basename(releaseDir), applied));
    }
    // deployment.json names the commit the server has: read with the fetch, which no command has carried yet.
    if (serverCommit === undefined) await send(undefined);
  } catch (error) {
    await upload.abandon();
    throw error;
  }
  await upload.done();
  // Its connection goes now, while the switch's round trip runs, rather than after the release's last one.
  void uploads.close();
  if (input.frontend) own.push(frontendReadableStep(shell, env, releaseDir));
  return { own, serverCommit: serverCommit! };
}

/**
 * The front end's upload, under way while the commands run. Its progress is shown once they are over (their output
 * would draw over a progress bar); a failure stops the next command (check); abandon() starts no further file.
 */
function frontendUpload(input: BuildInput, uploads: Uploads, releaseDir: string, out: ReleaseOutput, stop: () => void) {
  const frontend = input.frontend;
  let failure: { error: unknown } | undefined;
  let abandoned = false;
  let shown = false;
  let sent = 0;
  const progress = {
    ...out,
    onUpload: (done: number, total: number) => {
      sent = done;
      if (shown) out.onUpload(done, total);
    },
  };
  const running = frontend
    ? putFrontend(uploads, input.environment, releaseDir, { dir: frontend.dir, total: frontend.files.length }, progress, () => {
        if (abandoned) throw new GenError("the upload was abandoned");
        stop();
      }).catch((error: unknown) => void (failure = { error }))
    : Promise.resolve();
  return {
    check: () => {
      if (failure) throw failure.error;
    },
    abandon: async () => {
      abandoned = true;
      await running;
    },
    done: async () => {
      shown = true;
      if (frontend && sent > 0) out.onUpload(sent, frontend.files.length);
      await running;
      if (failure) throw failure.error;
    },
  };
}
