// gen run: a Django management command in the live release, run as the release tasks run manage.py (the same
// program and virtualenv: `poetry run python manage.py` by default), in the live release's backend folder (the units'
// WorkingDirectory, `current` resolved once so that a deploy switching it meanwhile changes nothing under way), as
// the release user. Neither the units nor the tasks set DJANGO_SETTINGS_MODULE: manage.py chooses the settings module,
// which imports the settings_local.py linked into the release, so gen run does not set it either.
import type { Environment } from "../../schema/index.js";
import { GenError } from "../errors.js";
import { isReleaseId, liveRelease } from "../release/releases.js";
import type { ServerShell } from "../server/server-shell.js";

/** The words of the release tasks (then release.migrations) up to manage.py: how this environment runs it. */
export function managePyCommand(env: Environment): string[] | undefined {
  const commands = [...env.release.tasks, ...(env.release.migrations ? [env.release.migrations] : [])];
  for (const argv of commands) {
    const at = argv.findIndex((word) => word === "manage.py" || word.endsWith("/manage.py"));
    if (at >= 0) return argv.slice(0, at + 1);
  }
  return undefined;
}

/** managePyCommand, or why gen cannot know it. */
export function requireManagePy(env: Environment, envName: string): string[] {
  const command = managePyCommand(env);
  if (command) return command;
  throw new GenError(
    `gen run runs manage.py as the release tasks run it, and no command of release.tasks or release.migrations of ${envName} names manage.py`,
    {
      details: ['add the task that runs manage.py (e.g. [poetry, "run", "python", "manage.py", "migrate", "--noinput"]) to release.tasks'],
    },
  );
}

export interface LiveBackend {
  release: string;
  /** The server folder the command starts in. */
  folder: string;
}

/** The live release and its backend folder; refused, saying so, when there is none. */
export async function liveBackend(shell: ServerShell, env: Environment, envName: string): Promise<LiveBackend> {
  const id = await liveRelease(shell, env);
  if (id === undefined) {
    throw new GenError(`no live release on ${shell.transport.describe}: ${env.paths.current} is not there, so there is nothing to run in`, {
      details: [`gen deploy ${envName} makes the first one`],
    });
  }
  if (!isReleaseId(id)) throw new GenError(`${env.paths.current} on ${shell.transport.describe} leads to ${id}, which is not a release gen made`);
  return { release: id, folder: `${env.paths.releases}/${id}/${env.paths.backendDir}` };
}
