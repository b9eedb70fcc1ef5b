// The release's connections to its hosts, opened while the configuration step runs rather than after it: the
// connection as the release user (the configuration step's own when both log in as the same user), its session, and
// the upload connection when the release uploads (a front end, an archive). What was opened and not used is closed
// by close(); nothing here runs a command.
import type { Environment } from "../../schema/index.js";
import { environmentHosts, hostConnections, type ConnectOptions, type HostConnections } from "../transport/open-transport.js";
import { lazyUploads, type Uploads } from "./build-release.js";
import type { EarlyConnections } from "./deploy-hosts.js";

export interface ReleaseConnections extends EarlyConnections {
  /** The configuration step's connections when they are the release's too (closed by close(), not by the apply). */
  shared: HostConnections | undefined;
  /** Starts connecting to the first `count` hosts as the release user, their session and their upload connection. */
  warm(count: number): void;
  close(): Promise<void>;
}

/** `uploads`: the release puts files on the hosts, so each warmed host's upload connection is opened too. */
export function releaseConnections(env: Environment, options: ConnectOptions, uploads: boolean): ReleaseConnections {
  const releaseUser = env.release.sshUser ?? env.server.deployUser;
  const same = env.server.transport === "local" || (options.sshUser ?? env.server.sshUser) === releaseUser;
  const connections = hostConnections(env, { ...(same ? options : { ...options, sshUser: releaseUser }), ...(uploads ? { uploadsEarly: true } : {}) });
  const started = new Map<string, Uploads>();
  return {
    connections,
    shared: same ? { ...connections, close: async () => {} } : undefined,
    uploads: (host) => started.get(host.name),
    warm(count) {
      for (const host of environmentHosts(env, options.envName).slice(0, Math.max(1, count))) {
        if (started.has(host.name)) continue;
        const opening = connections.open(host);
        // A failure is reported where the host is first used.
        opening.then(
          (transport) => transport.startSession?.({ sudo: false }),
          () => {},
        );
        if (!uploads) continue;
        // Opened beside the connection (uploadsEarly), or after it when a new host key may be recorded.
        const upload = lazyUploads(async () => (await opening).openUploader());
        upload.start();
        started.set(host.name, upload);
      }
    },
    async close() {
      await Promise.all([...started.values()].map((upload) => upload.close()));
      await connections.close();
    },
  };
}
