// Connects to every host of an environment (bounded concurrency), reads its state and plans the changes.
// Effects: reads through the transports only; each is closed before this returns unless `connections` (kept
// open by the caller) is given.
import type { LoadedEnvironment } from "../load/load-environment.js";
import { forEachHost, type ConnectOptions, type HostConnections } from "../transport/open-transport.js";
import type { FolderSpec, RenderedFile } from "../types.js";
import { filesForRoles, planChanges } from "./plan-changes.js";
import type { Plan } from "./plan-types.js";
import { readServerState, type HostState, type ServerFile } from "./server-state.js";
import type { Transport } from "../transport/transport.js";

export interface Inspection {
  plan: Plan;
  /** host -> path -> what the server has (content kept where it differs), for printing diffs. */
  serverFiles: Map<string, Map<string, ServerFile>>;
  /** host -> what apply needs of the read its plan was made from to check it under the lock on the server (apply-plan.ts). */
  reads: Map<string, Pick<HostState, "digest" | "applied">>;
}

/** Reads one host's state (its files and folders are those of its roles): as gen diff does, or under apply's lock. */
export type HostReader = (
  transport: Transport,
  host: { name: string; stateDir: string; sudo: boolean },
  files: RenderedFile[],
  folders: FolderSpec[],
) => Promise<HostState>;

export async function inspectEnvironment(
  loaded: LoadedEnvironment,
  files: RenderedFile[],
  folders: FolderSpec[],
  options: ConnectOptions,
  concurrency: number,
  connections?: HostConnections,
  read: HostReader = (transport, host, files, folders) => readServerState(transport, files, folders, host.stateDir, { sudo: host.sudo }),
): Promise<Inspection> {
  const env = loaded.environment;
  const outcomes = await forEachHost(
    env,
    options,
    concurrency,
    (transport, host) =>
      read(
        transport,
        { name: host.name, stateDir: env.server.stateDir, sudo: env.server.useSudo },
        filesForRoles(files, host.roles),
        filesForRoles(folders, host.roles),
      ),
    connections,
  );
  const plan = planChanges(
    loaded.name,
    files,
    folders,
    outcomes.map((o) => ({ host: o.host.name, roles: o.host.roles, state: o.ok ? o.value : { error: o.error, transport: o.transport } })),
  );
  const states = outcomes.flatMap((o) => (o.ok ? [[o.host.name, o.value] as const] : []));
  const serverFiles = new Map(states.map(([host, state]) => [host, state.files]));
  const reads = new Map(states.map(([host, { digest, applied }]) => [host, { ...(digest ? { digest } : {}), ...(applied ? { applied } : {}) }]));
  return { plan, serverFiles, reads };
}
