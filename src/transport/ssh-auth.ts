// Which keys to offer and in what order: the ssh-agent first, then identity files, each loaded only
// when reached, so a passphrase is asked only if the agent's keys were not enough (as OpenSSH does).

import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import ssh2, { type AuthenticationType, type AuthHandlerMiddleware, type ParsedKey } from "ssh2";

// ssh2 is CommonJS: its `utils` is reachable from ESM only through the default export.
const { utils } = ssh2;

/** Asked for an encrypted key; undefined skips the key. */
export type PassphrasePrompt = (keyPath: string) => Promise<string | undefined>;

export interface AuthSources {
  username: string;
  /** ssh-agent socket path. */
  agent?: string;
  identityFiles: string[];
  passphrase?: PassphrasePrompt;
}

/** What was offered and why keys were skipped, for the "rejected the key" message. */
export interface AuthLog {
  offered: string[];
  notes: string[];
}

const DEFAULT_KEY_NAMES = ["id_ed25519", "id_ecdsa", "id_rsa"];

export function defaultIdentityFileNames(home: string): string[] {
  return DEFAULT_KEY_NAMES.map((name) => join(home, ".ssh", name));
}

export async function existingDefaultIdentityFiles(home: string): Promise<string[]> {
  const candidates = defaultIdentityFileNames(home);
  const exists = await Promise.all(
    candidates.map((path) =>
      access(path).then(
        () => true,
        () => false,
      ),
    ),
  );
  return candidates.filter((_, i) => exists[i]);
}

// ssh2 takes `false` from an auth handler as "no more methods"; its typings omit that value.
const NO_MORE_METHODS = false as unknown as AuthenticationType;

/** `waitOutsideClock` runs a passphrase prompt with the connect timeout paused. */
export function createAuthHandler(sources: AuthSources, log: AuthLog, waitOutsideClock: <T>(work: () => Promise<T>) => Promise<T>): AuthHandlerMiddleware {
  const queue: Array<{ agent: string } | { file: string }> = [
    ...(sources.agent ? [{ agent: sources.agent }] : []),
    ...sources.identityFiles.map((file) => ({ file })),
  ];
  const { username } = sources;
  const handler: AuthHandlerMiddleware = (methodsLeft, _partial, next) => {
    if (methodsLeft && !methodsLeft.includes("publickey")) {
      log.notes.push(`the server accepts only: ${methodsLeft.join(", ")}`);
      return next(NO_MORE_METHODS);
    }
    const candidate = queue.shift();
    if (candidate === undefined) return next(NO_MORE_METHODS);
    if ("agent" in candidate) {
      log.offered.push(`the keys in ssh-agent (${candidate.agent})`);
      return next({ type: "agent", username, agent: candidate.agent });
    }
    void loadPrivateKey(candidate.file, sources.passphrase, log, waitOutsideClock).then((key) => {
      if (key === undefined) return handler(methodsLeft, _partial, next);
      log.offered.push(candidate.file);
      next({ type: "publickey", username, key });
    });
  };
  return handler;
}

async function loadPrivateKey(
  path: string,
  prompt: PassphrasePrompt | undefined,
  log: AuthLog,
  waitOutsideClock: <T>(work: () => Promise<T>) => Promise<T>,
): Promise<ParsedKey | undefined> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    log.notes.push(`${path}: cannot read: ${(error as Error).message}`);
    return undefined;
  }
  const key = utils.parseKey(data);
  if (!(key instanceof Error)) return firstKey(key);
  if (!/no passphrase given/.test(key.message)) {
    log.notes.push(`${path}: not a usable private key (${key.message})`);
    return undefined;
  }
  if (!prompt) {
    log.notes.push(`${path}: encrypted, and no passphrase prompt is available (add the key to ssh-agent)`);
    return undefined;
  }
  return decryptKey(path, data, prompt, log, waitOutsideClock);
}

async function decryptKey(
  path: string,
  data: Buffer,
  prompt: PassphrasePrompt,
  log: AuthLog,
  waitOutsideClock: <T>(work: () => Promise<T>) => Promise<T>,
): Promise<ParsedKey | undefined> {
  // Three tries, as ssh gives.
  for (let attempt = 0; attempt < 3; attempt++) {
    const passphrase = await waitOutsideClock(() => prompt(path));
    if (passphrase === undefined) {
      log.notes.push(`${path}: skipped (no passphrase given)`);
      return undefined;
    }
    const key = utils.parseKey(data, passphrase);
    if (!(key instanceof Error)) return firstKey(key);
  }
  log.notes.push(`${path}: wrong passphrase`);
  return undefined;
}

// OpenSSH's format can in principle hold several keys; ssh2 returns an array then.
function firstKey(key: ParsedKey | ParsedKey[]): ParsedKey | undefined {
  return Array.isArray(key) ? key[0] : key;
}
