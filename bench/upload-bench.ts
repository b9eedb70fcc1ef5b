// gen's front-end upload (connectSsh, putFrontend over its own SFTP connection, then the chmod step, close; in-process) next to
// `scp -r` of the same folder.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { serverShell, statusStep } from "../src/server/server-shell.js";
import { frontendReadableStep, lazyUploads, putFrontend } from "../src/release/build-release.js";
import { runStep } from "../src/transport/typed-steps.js";
import { connectSsh } from "../src/transport/ssh.js";
import { openSshClientOptions, type BenchServer } from "./bench-server.js";
import { expectExit, measurePair, runTimed, timeAsync, type Results } from "./measure.js";

const FOLDERS = ["", "assets", "assets/js", "assets/css", "img", "img/icons", "locales"];

export async function benchUpload(results: Results, server: BenchServer, runs: { runs: number; warmups: number }, count = 300): Promise<void> {
  const temp = await mkdtemp(join(tmpdir(), "gen-bench-upload-"));
  try {
    const localDir = join(temp, "public");
    const files = await makeFrontend(localDir, count);
    const { sshd } = server;
    await mkdir(join(sshd.rootDir, "tmp"), { recursive: true });
    const env = server.loaded.environment;
    const out = { onCommand() {}, onOutput() {}, onUpload() {} };
    let n = 0;
    await measurePair(results, {
      name: `gen uploadFrontend, ${count} files (connect + upload + close)`,
      floor: `scp -r floor, ${count} files`,
      note: "in-process, from dist/src",
      runs: runs.runs,
      warmups: runs.warmups,
      prepare: async () => void n++,
      measured: () =>
        timeAsync(async () => {
          const transport = await connectSsh({
            host: "127.0.0.1",
            port: sshd.port,
            username: "root",
            identityFiles: [sshd.clientKeyPath],
            knownHostsPaths: [sshd.knownHostsPath],
            agent: false,
            root: sshd.rootDir,
          });
          const uploads = lazyUploads(() => transport.openUploader());
          try {
            const frontend = { dir: localDir, total: files.length };
            const releaseDir = `/var/www/releases/bench-${n}`;
            const shell = serverShell(transport, env, { sudo: false });
            // As a deploy makes it, with the release's folder.
            await runStep(shell, statusStep(shell, "making the public folder", `mkdir -p ${shell.path(`${releaseDir}/${env.paths.publicDir}`)}`));
            await putFrontend(uploads, env, releaseDir, frontend, out);
            await runStep(shell, frontendReadableStep(shell, env, releaseDir));
          } finally {
            await uploads.close();
            await transport.close();
          }
        }),
      floorRun: async () => {
        const args = [
          "-r",
          "-q",
          ...openSshClientOptions(sshd),
          // scp's port option is -P (ssh's is -p).
          "-P",
          String(sshd.port),
          localDir,
          `root@127.0.0.1:${sshd.rootDir}/tmp/scp-${n}`,
        ];
        return expectExit(await runTimed("scp", args), 0, "scp -r floor");
      },
    });
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/** `count` files of 1–4 KB (deterministic) in a few subfolders; returns their relative paths. */
async function makeFrontend(dir: string, count: number): Promise<string[]> {
  const files: string[] = [];
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (const folder of FOLDERS) await mkdir(join(dir, folder), { recursive: true });
  for (let i = 0; i < count; i++) {
    const file = posix.join(FOLDERS[i % FOLDERS.length]!, `file-${i}.${["js", "css", "svg", "json"][i % 4]}`);
    const size = 1024 + (next() % (3 * 1024));
    await writeFile(join(dir, file), Buffer.alloc(size, `/* front-end file ${i} */\n`));
    files.push(file);
  }
  return files;
}
