// OpenSSH known_hosts: parsing (plain, wildcard, `[host]:port` and hashed `|1|salt|hash` entries),
// lookup of a server key, fingerprints as `ssh-keygen -l` prints them, and hashed lines to append.

import { createHash, createHmac, randomBytes } from "node:crypto";

export interface KnownHostEntry {
  file: string;
  /** 1-based, for messages like "known_hosts:3". */
  line: number;
  marker?: "revoked" | "cert-authority";
  /** The host field as written: patterns, or a hashed `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  key: Buffer;
}

export type HostKeyVerdict =
  | { kind: "known"; entry: KnownHostEntry }
  | { kind: "revoked"; entry: KnownHostEntry }
  | { kind: "changed"; entry: KnownHostEntry }
  | { kind: "unknown"; otherTypes: string[] };

export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  return text.split("\n").flatMap((raw, index) => {
    const entry = parseLine(raw.trim(), file, index + 1);
    return entry ? [entry] : [];
  });
}

function parseLine(line: string, file: string, lineNumber: number): KnownHostEntry | undefined {
  if (line === "" || line.startsWith("#")) return undefined;
  const fields = line.split(/\s+/);
  const marker = fields[0]?.startsWith("@") ? fields.shift() : undefined;
  const [hosts, keyType, keyBase64] = fields;
  if (!hosts || !keyType || !keyBase64) return undefined;
  if (marker !== undefined && marker !== "@revoked" && marker !== "@cert-authority") return undefined;
  return {
    file,
    line: lineNumber,
    ...(marker ? { marker: marker === "@revoked" ? "revoked" : "cert-authority" } : {}),
    hosts,
    keyType,
    key: Buffer.from(keyBase64, "base64"),
  } as KnownHostEntry;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise, lower-cased. */
export function knownHostsName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

export function entryMatchesName(entry: KnownHostEntry, name: string): boolean {
  if (entry.hosts.startsWith("|1|")) return hashedMatches(entry.hosts, name);
  let matched = false;
  for (const pattern of entry.hosts.split(",")) {
    const negated = pattern.startsWith("!");
    if (!globMatches(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function hashedMatches(field: string, name: string): boolean {
  const [, , salt, hash] = field.split("|");
  if (!salt || !hash) return false;
  const expected = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
  return expected === hash;
}

function globMatches(pattern: string, name: string): boolean {
  const regex = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", ".*")
    .replaceAll("?", ".");
  return new RegExp(`^${regex}$`).test(name);
}

/** Judges a server key against the entries for `name`, as OpenSSH does: a revocation wins, then a match. */
export function checkHostKey(entries: KnownHostEntry[], name: string, key: Buffer): HostKeyVerdict {
  const forHost = entries.filter((e) => e.marker !== "cert-authority" && entryMatchesName(e, name));
  const revoked = forHost.find((e) => e.marker === "revoked" && e.key.equals(key));
  if (revoked) return { kind: "revoked", entry: revoked };
  const plain = forHost.filter((e) => e.marker === undefined);
  const known = plain.find((e) => e.key.equals(key));
  if (known) return { kind: "known", entry: known };
  const type = keyTypeOf(key);
  const changed = plain.find((e) => e.keyType === type);
  if (changed) return { kind: "changed", entry: changed };
  return { kind: "unknown", otherTypes: [...new Set(plain.map((e) => e.keyType))] };
}

/** The key types recorded for `name`, so the client can ask the server for one of those first. */
export function knownKeyTypes(entries: KnownHostEntry[], name: string): string[] {
  const types = entries.filter((e) => e.marker === undefined && entryMatchesName(e, name)).map((e) => e.keyType);
  return [...new Set(types)];
}

/** The algorithm name inside an SSH public key blob ("ssh-ed25519", "ssh-rsa", ...). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return "unknown";
  const length = key.readUInt32BE(0);
  return key.subarray(4, 4 + length).toString("latin1");
}

/** `SHA256:` + unpadded base64, exactly as `ssh-keygen -lf` and ssh print it. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/** "ED25519", "ECDSA", "RSA": the word OpenSSH uses in its messages. */
export function keyTypeLabel(keyType: string): string {
  if (keyType === "ssh-ed25519") return "ED25519";
  if (keyType.startsWith("ecdsa-")) return "ECDSA";
  if (keyType === "ssh-rsa") return "RSA";
  if (keyType === "ssh-dss") return "DSA";
  return keyType;
}

/** A known_hosts line with the host name hashed (as `HashKnownHosts yes` writes it), without newline. */
export function hashedHostLine(name: string, key: Buffer): string {
  const salt = randomBytes(20);
  const hash = createHmac("sha1", salt).update(name).digest("base64");
  return `|1|${salt.toString("base64")}|${hash} ${keyTypeOf(key)} ${key.toString("base64")}`;
}
