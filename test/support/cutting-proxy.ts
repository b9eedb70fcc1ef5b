// A TCP proxy on 127.0.0.1 between gen and sshd that cuts every connection once a number of bytes (both
// directions, all connections together) has passed: a connection lost at a chosen point of a run.

import { createServer, connect, type Socket } from "node:net";

export interface CuttingProxy {
  port: number;
  /** Bytes forwarded since the last reset, both directions. */
  bytes(): number;
  /** Cut after this many more bytes from now on (Infinity: never), and count from zero. */
  reset(cutAfter: number): void;
  /** Cuts every open connection now. */
  cutNow(): void;
  stop(): Promise<void>;
}

export async function startCuttingProxy(target: { host: string; port: number }): Promise<CuttingProxy> {
  let limit = Infinity;
  let passed = 0;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    track(client);
    track(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    const forward = (from: Socket, to: Socket) => {
      from.on("data", (chunk: Buffer) => {
        const room = limit - passed;
        if (room <= 0) return cut();
        const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
        passed += part.length;
        // The cut comes once the allowed bytes are on their way.
        to.write(part, () => (passed >= limit ? cut() : undefined));
      });
      from.on("end", () => to.end());
      from.on("close", cut);
    };
    forward(client, upstream);
    forward(upstream, client);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
  return {
    port,
    bytes: () => passed,
    cutNow() {
      for (const socket of sockets) socket.destroy();
    },
    reset(cutAfter) {
      limit = cutAfter;
      passed = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
