// A TCP proxy on 127.0.0.1 that sends its first `count` connections to `first` and every later one to `then`: a host
// that answers with another server (another host key) from some point of a run on.
import { connect, createServer, type Socket } from "node:net";

export interface SwitchingProxy {
  port: number;
  stop(): Promise<void>;
}

type Target = { host: string; port: number };

export async function startSwitchingProxy(first: Target, then: Target, count: number): Promise<SwitchingProxy> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    const target = ++accepted > count ? then : first;
    const upstream = connect(target.port, target.host);
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
