// Decides whether to trust the key a server offers: a pinned fingerprint, else the known_hosts files.
// Unknown keys are refused unless acceptNew (then recorded, hashed); a changed key is always refused.

import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { GenError } from "../errors.js";
import {
  checkHostKey,
  fingerprintOf,
  hashedHostLine,
  keyTypeLabel,
  keyTypeOf,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
  type KnownHostEntry,
} from "./known-hosts.js";

export interface HostKeyPolicy {
  host: string;
  port: number;
  /** Checked in order; a new key is recorded in the first. */
  knownHostsPaths: string[];
  /** "SHA256:..." as `ssh-keygen -lf` prints it; when given, known_hosts is not consulted. */
  pinnedFingerprint?: string;
  acceptNew: boolean;
}

export async function loadKnownHosts(paths: string[]): Promise<KnownHostEntry[]> {
  const texts = await Promise.all(paths.map((path) => readFile(path, "utf8").catch(ignoreMissing(path))));
  return texts.flatMap((text, i) => parseKnownHosts(text, paths[i]!));
}

function ignoreMissing(path: string) {
  return (error: NodeJS.ErrnoException): string => {
    if (error.code === "ENOENT") return "";
    throw new GenError(`cannot read known hosts file ${path}: ${error.message}`, { cause: error });
  };
}

/** Host key algorithms to offer, those already recorded for this host first (as OpenSSH orders them). */
export function hostKeyAlgorithms(entries: KnownHostEntry[], policy: HostKeyPolicy): string[] {
  const known = knownKeyTypes(entries, knownHostsName(policy.host, policy.port)).flatMap(algorithmsFor);
  return [...new Set([...known, ...DEFAULT_ALGORITHMS])];
}

const DEFAULT_ALGORITHMS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];

function algorithmsFor(keyType: string): string[] {
  return keyType === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [keyType];
}

/** undefined when the key is trusted (and recorded, if new and acceptNew); otherwise the refusal. */
export async function verifyHostKey(policy: HostKeyPolicy, entries: KnownHostEntry[], key: Buffer): Promise<GenError | undefined> {
  const where = `${policy.host}:${policy.port}`;
  const offered = `${keyTypeLabel(keyTypeOf(key))} key ${fingerprintOf(key)}`;
  if (policy.pinnedFingerprint !== undefined) return checkPin(policy.pinnedFingerprint, key, where, offered);
  const name = knownHostsName(policy.host, policy.port);
  const verdict = checkHostKey(entries, name, key);
  if (verdict.kind === "known") return undefined;
  if (verdict.kind === "revoked") {
    return new GenError(`host key of ${where} (${offered}) is marked @revoked in ${verdict.entry.file}:${verdict.entry.line}; refusing to connect`);
  }
  if (verdict.kind === "changed") return hostKeyChanged(verdict.entry, name, where, offered);
  if (!policy.acceptNew) return unknownHost(policy, where, offered, verdict.otherTypes);
  return recordHostKey(policy.knownHostsPaths[0], name, key, where);
}

function checkPin(pin: string, key: Buffer, where: string, offered: string): GenError | undefined {
  if (pin.replace(/=+$/, "") === fingerprintOf(key)) return undefined;
  return new GenError(`host key of ${where} does not match the pinned fingerprint: expected ${pin}, the server offered ${offered}; refusing to connect`);
}

function hostKeyChanged(entry: KnownHostEntry, name: string, where: string, offered: string): GenError {
  return new GenError(
    `HOST KEY CHANGED for ${where}: the server offered ${offered}, but ${entry.file}:${entry.line} ` +
      `holds a different ${keyTypeLabel(entry.keyType)} key. Someone could be intercepting the connection ` +
      `(man-in-the-middle), or the server was reinstalled. Refusing to connect.`,
    {
      details: [
        `If you have confirmed the new key with the server's administrator, remove the old one with`,
        `  ssh-keygen -R '${name}' -f ${entry.file}`,
        `and connect again with --accept-new-host-key.`,
      ],
    },
  );
}

function unknownHost(policy: HostKeyPolicy, where: string, offered: string, otherTypes: string[]): GenError {
  const checked = policy.knownHostsPaths.length ? policy.knownHostsPaths.join(", ") : "no known_hosts file";
  const others = otherTypes.length ? ` (only ${otherTypes.map(keyTypeLabel).join(", ")} keys are recorded for it)` : "";
  return new GenError(`host key of ${where} is not known${others}: the server offered ${offered} (checked ${checked})`, {
    details: [
      `Compare the fingerprint with \`ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub\` run on the server;`,
      `if it matches, run again with --accept-new-host-key to record it.`,
    ],
  });
}

async function recordHostKey(path: string | undefined, name: string, key: Buffer, where: string) {
  if (path === undefined) return new GenError(`cannot record the host key of ${where}: no known_hosts file configured`);
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const existing = await readFile(path, "utf8").catch(() => "");
    const separator = existing === "" || existing.endsWith("\n") ? "" : "\n";
    await appendFile(path, `${separator}${hashedHostLine(name, key)}\n`, { mode: 0o600 });
    return undefined;
  } catch (error) {
    return new GenError(`cannot record the host key of ${where} in ${path}: ${(error as Error).message}`, { cause: error });
  }
}
