// For working on the real-server tier by hand: boots one provisioned container and keeps it until SIGINT/SIGTERM.
//   node dist/test/real-server/support/dev-container.js [info.json]
// prints (and writes to info.json) the container's root on this machine, its init PID, the client key, and how
// to reach it: `nsenter -t <pid> -m -u -i -n -p -- <cmd>` inside, `nsenter -t <pid> -n -- <cmd>` for its network.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startContainer } from "./container.js";
import { createDatabase, makeClientKey, provisionServer } from "./provision.js";
import { REAL_SERVER } from "./real-server.js";

const infoPath = process.argv[2];
let clientKey = "";
const container = await startContainer({
  log: (line) => console.error(line),
  provision: async (root, { workDir }) => {
    clientKey = await makeClientKey(workDir);
    await provisionServer(root, { ...REAL_SERVER.accounts, clientKey });
  },
});
await createDatabase(container, REAL_SERVER.database);
const info = {
  name: container.name,
  root: container.root,
  leader: container.leader(),
  clientKey,
  knownHosts: join(container.workDir, "known_hosts"),
  inside: `nsenter -t ${container.leader()} -m -u -i -n -p --`,
  network: `nsenter -t ${container.leader()} -n --`,
  ssh: `nsenter -t ${container.leader()} -n -- ssh -i ${clientKey} -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=${join(container.workDir, "known_hosts")} admin@127.0.0.1`,
};
console.log(JSON.stringify(info, null, 2));
if (infoPath) writeFileSync(infoPath, `${JSON.stringify(info, null, 2)}\n`);
const stop = async () => {
  await container.stop();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
setInterval(() => {}, 1 << 30);
