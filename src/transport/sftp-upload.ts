// A deploy's uploads over SFTP with ssh2-sftp-client (its parallel directory upload), on a connection of their own,
// opened only when a deploy uploads: made like every connection gen opens (ssh-connect.ts: TCP without Nagle, the
// same host key check, keys and jump hosts), so the commands' session never waits behind a file transfer.
import { lstatSync } from "node:fs";
import type { Client, ConnectConfig } from "ssh2";
import SftpClient from "ssh2-sftp-client";
import { errorMessage, GenError } from "../errors.js";
import { parseMode, pathUnderRoot } from "./root-path.js";
import type { ClientStart } from "./ssh-connect.js";
import type { Uploader } from "./transport.js";

/** Files sent at once (ssh2-sftp-client's promiseLimit); OpenSSH's sftp-server answers each in turn. */
const FILES_AT_ONCE = 16;

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
      let stopped: { error: unknown } | undefined;
      const sent = () => {
        if (stopped) return;
        try {
          onFile();
        } catch (error) {
          stopped = { error };
          // The transfers under way fail with the connection; the caller hears of the stop, once they have.
          void sftp.end().catch(() => {});
        }
      };
      sftp.on("upload", sent);
      try {
        await sftp.uploadDir(localDir, at(remoteDir), { filter: regularFileOrFolder });
      } catch (error) {
        if (!stopped) throw new GenError(`${context.describe}: cannot upload ${localDir} to ${remoteDir}: ${errorMessage(error)}`, { cause: error });
      } finally {
        sftp.removeListener("upload", sent);
      }
      if (stopped) throw stopped.error;
    },
    close: async () => {
      await sftp.end().catch(() => client.destroy());
      endHops();
    },
  };
}

/** What a build output holds that is served: files and folders, never a link (which could lead anywhere). */
function regularFileOrFolder(path: string, isFolder: boolean): boolean {
  if (isFolder) return true;
  try {
    // ssh2-sftp-client's filter is synchronous.
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}
