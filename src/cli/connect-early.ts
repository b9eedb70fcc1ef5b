// diff and apply load and render an environment, then talk to its hosts: the connections start as soon as the
// environment is loaded, before the SSH code is loaded, so the server's side of them (accepting, the handshake, sudo,
// the login shell) runs while gen loads ssh2 and renders.
// A module of its own: the environment options are also render's, which must not load the SSH code.
import { closeStarted, startHosts, type HostStart } from "../transport/early-start.js";
import type { ConnectOptions, HostConnections } from "../transport/open-transport.js";
import { loadAndRender, type GlobalOptions, type Prepared } from "./environment-options.js";
import type { HostSelection } from "./host-selection.js";

/** The loaded and rendered environment, and its hosts' connections already under way (the caller closes them). */
export async function loadRenderAndConnect(
  name: string,
  argv: GlobalOptions & HostSelection,
  options: ConnectOptions,
  concurrency: number,
): Promise<Prepared & { connections: HostConnections }> {
  let started: Map<string, HostStart> | undefined;
  let connections: HostConnections | undefined;
  try {
    const prepared = await loadAndRender(name, argv, async (loaded) => {
      started = startHosts(loaded.environment, concurrency, options);
      // Node starts a TCP connection on its next tick, which loading ssh2 (synchronous) would hold back: let it go first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const { hostConnections } = await import("../transport/open-transport.js");
      connections = hostConnections(loaded.environment, options, started);
      connections.warm(concurrency, { sudo: loaded.environment.server.useSudo });
    });
    return { ...prepared, connections: connections! };
  } catch (error) {
    if (connections) await connections.close();
    else if (started) closeStarted(started);
    throw error;
  }
}
