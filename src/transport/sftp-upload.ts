// A deploy's uploads over SFTP, on a connection of their own (ssh2-sftp-client makes it and puts single files),
// opened when a deploy uploads: made like every connection gen opens (ssh-connect.ts: TCP without Nagle, the
// same host key check, keys and jump hosts), so the commands' session never waits behind a file transfer. A folder
// goes over ssh2's SFTP channel itself: its subfolders level by level, then up to FILES_AT_ONCE files under way, each
// opened, written in parts sent together and closed, three round trips a file. ssh2-sftp-client's uploadDir costs
// more at a distance: it stats the folder first, sends 16 files and waits for all of them before the next 16, writes
// a file's parts one after the other, and goes into each subfolder after the last.
import { readdir, readFile } from "node:fs/promises";
import { join, posix } from "node:path";
import type { Client, ConnectConfig, SFTPWrapper, Stats } from "ssh2";
import SftpClient from "ssh2-sftp-client";
import { errorMessage, GenError } from "../errors.js";
import { parseMode, pathUnderRoot } from "./root-path.js";
import type { ClientStart } from "./ssh-connect.js";
import type { Uploader } from "./transport.js";

/** Files sent at once; OpenSSH's sftp-server answers each request in turn. */
const FILES_AT_ONCE = 32;
/** Bytes per write request: under every server's limit (OpenSSH takes 256 KiB, the draft asks for 32 KiB at least). */
const WRITE_BYTES = 32 * 1024;

export interface UploadContext {
  /** How the host is named in messages, as the command connection names it. */
  describe: string;
  /** "/" on a real server; a folder standing in for it in tests. */
  root: string;
}

/** Opens a connection (and its jump hosts) with the given client, as connectSsh opens its own (ssh.ts). */
export type OpenWithClient = (use: ClientStart) => Promise<{ hops: { connection: { client: Client } }[] }>;

export async function openSftpUploader(open: OpenWithClient, context: UploadContext): Promise<Uploader> {
  // Quiet: ssh2-sftp-client's default listeners print to the console; failures reach gen as rejected calls.
  const sftp = new SftpClient("gen-upload", { error: () => {}, end: () => {}, close: () => {} });
  let ready: Promise<unknown> = Promise.resolve();
  // The library drives its own ssh2 client: gen connects that one, with the options every connection of gen's gets.
  const client = (sftp as unknown as { client: Client }).client;
  const start = (config: ConnectConfig) => {
    ready = sftp.connect({ ...config, promiseLimit: FILES_AT_ONCE } as SftpClient.ConnectOptions);
    ready.catch(() => {});
  };
  const { hops } = await open({ client, start });
  const endHops = () => {
    for (const hop of hops.reverse()) hop.connection.client.end();
  };
  try {
    await ready;
  } catch (error) {
    client.destroy();
    endHops();
    throw new GenError(`${context.describe}: cannot open SFTP for the upload: ${errorMessage(error)}`, { cause: error });
  }
  const at = (serverPath: string) => pathUnderRoot(context.root, serverPath);
  return {
    putFile: async (path, content, mode) => {
      const bits = parseMode(mode, path);
      try {
        await sftp.put(content, at(path), { writeStreamOptions: { mode: bits } });
        // The create mode is cut by the server's umask and ignored for an existing file: set it explicitly.
        await sftp.chmod(at(path), bits!);
      } catch (error) {
        throw new GenError(`${context.describe}: cannot write ${path}: ${errorMessage(error)}`, { cause: error });
      }
    },
    putFolder: async (localDir, remoteDir, onFile) => {
      const channel = (sftp as unknown as { sftp: SFTPWrapper }).sftp;
      let stopped: { error: unknown } | undefined;
      // A stop starts no further file; the few under way finish (ending the connection would leave their requests
      // unanswered), then the caller hears of it.
      const sent = () => {
        if (stopped) throw stopped.error;
        try {
          onFile();
        } catch (error) {
          stopped = { error };
          throw error;
        }
      };
      const call = requests(channel);
      try {
        const { folders, files } = await localTree(localDir);
        for (const level of byDepth(folders)) await Promise.all(level.map((folder) => makeFolder(call, at(posix.join(remoteDir, folder)))));
        await eachAtOnce(files, FILES_AT_ONCE, async (file) => {
          sent();
          await writeWhole(call, at(posix.join(remoteDir, file)), await readFile(join(localDir, file)));
        });
      } catch (error) {
        if (!stopped) throw new GenError(`${context.describe}: cannot upload ${localDir} to ${remoteDir}: ${errorMessage(error)}`, { cause: error });
      } finally {
        call.done();
      }
      if (stopped) throw stopped.error;
    },
    close: async () => {
      await sftp.end().catch(() => client.destroy());
      endHops();
    },
  };
}

/**
 * What a build output holds that is served: its folders (relative, each after its parent) and regular files, never a
 * link (which could lead anywhere) nor anything else.
 */
async function localTree(root: string, under = ""): Promise<{ folders: string[]; files: string[] }> {
  const folders: string[] = [];
  const files: string[] = [];
  for (const entry of await readdir(join(root, under), { withFileTypes: true })) {
    const path = under ? `${under}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      const inner = await localTree(root, path);
      folders.push(path, ...inner.folders);
      files.push(...inner.files);
    } else if (entry.isFile()) files.push(path);
  }
  return { folders, files };
}

/** The folders by depth, the shallowest first: a level's folders are made at once, once their parents are there. */
function byDepth(folders: string[]): string[][] {
  const levels: string[][] = [];
  for (const folder of folders) (levels[folder.split("/").length - 1] ??= []).push(folder);
  return levels.filter((level) => level !== undefined);
}

/** At most `limit` of `work` under way at once, a new one started as each ends; the first failure is thrown once all ended. */
async function eachAtOnce<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const item = items[next++]!;
      await work(item).catch((error: unknown) => void (failure ??= { error }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}

/** The channel's requests as promises (ask); done() when no more will be sent. */
interface Requests {
  channel: SFTPWrapper;
  ask: <T>(send: (answer: (error: Error | null | undefined, value?: T) => void) => void) => Promise<T>;
  done: () => void;
}

/**
 * Requests that also reject when the channel closes: ssh2 drops a request sent on a closed channel and never answers
 * it, which would leave the upload waiting for ever.
 */
function requests(channel: SFTPWrapper): Requests {
  const waiting = new Set<(error: Error) => void>();
  let closed: Error | undefined;
  const onClose = () => {
    closed = new Error("the SFTP channel closed");
    for (const reject of waiting) reject(closed);
    waiting.clear();
  };
  channel.once("close", onClose);
  return {
    channel,
    ask: (send) =>
      new Promise((resolve, reject) => {
        if (closed) return reject(closed);
        waiting.add(reject);
        send((error, value) => {
          waiting.delete(reject);
          if (error) reject(error);
          else resolve(value as never);
        });
      }),
    done: () => void channel.removeListener("close", onClose),
  };
}

/** A folder made (with the server's default mode), or one that is there already. */
async function makeFolder({ channel, ask }: Requests, path: string): Promise<void> {
  const refused = await ask<void>((answer) => channel.mkdir(path, answer)).then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  if (!refused) return;
  const stats = await ask<Stats>((answer) => channel.stat(path, answer)).catch(() => undefined);
  if (!stats?.isDirectory()) throw refused.error;
}

/**
 * `content` as the whole of a new file (the server's default mode): opened, every part written at once (each at its
 * own offset, so their order does not matter), closed once all were written: three round trips whatever its size.
 */
async function writeWhole({ channel, ask }: Requests, path: string, content: Buffer): Promise<void> {
  const handle = await ask<Buffer>((answer) => channel.open(path, "w", answer));
  let failed: { error: unknown } | undefined;
  try {
    const parts: Promise<void>[] = [];
    for (let at = 0; at < content.length; at += WRITE_BYTES) {
      const length = Math.min(WRITE_BYTES, content.length - at);
      parts.push(ask<void>((answer) => channel.write(handle, content, at, length, at, answer)));
    }
    await Promise.all(parts);
  } catch (error) {
    failed = { error };
  }
  await ask<void>((answer) => channel.close(handle, answer)).catch((error: unknown) => {
    if (!failed) throw error;
  });
  if (failed) throw failed.error;
}
