// diff and apply load and render an environment, then talk to its hosts: the connections start as soon as the
// environment is loaded, so the server's side of them (handshake, sudo, the login shell) runs while gen renders.
// A module of its own: the environment options are also render's, which must not load the SSH code.
import { hostConnections, type ConnectOptions, type HostConnections } from "../transport/open-transport.js";
import { loadAndRender, type GlobalOptions, type Prepared } from "./environment-options.js";
import type { HostSelection } from "./host-selection.js";

/** The loaded and rendered environment, and its hosts' connections already under way (the caller closes them). */
export async function loadRenderAndConnect(
  name: string,
  argv: GlobalOptions & HostSelection,
  options: ConnectOptions,
  concurrency: number,
): Promise<Prepared & { connections: HostConnections }> {
  let connections: HostConnections | undefined;
  try {
    const prepared = await loadAndRender(name, argv, (loaded) => {
      connections = hostConnections(loaded.environment, options);
      connections.warm(concurrency, { sudo: loaded.environment.server.useSudo });
      // Node starts a TCP connection on its next tick, which rendering (synchronous) would hold back: let it go first.
      return new Promise<void>((resolve) => setImmediate(resolve));
    });
    return { ...prepared, connections: connections! };
  } catch (error) {
    await connections?.close();
    throw error;
  }
}
