// SshOptions for a test sshd: its client key, its known_hosts, its fake root, no ssh-agent.

import type { SshOptions } from "../../src/transport/ssh.js";
import type { SshdHandle } from "./sshd.js";

export function sshOptionsFor(sshd: SshdHandle, extra: Partial<SshOptions> = {}): SshOptions {
  return {
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    identityFiles: [sshd.clientKeyPath],
    agent: false,
    knownHostsPaths: [sshd.knownHostsPath],
    root: sshd.rootDir,
    connectTimeoutMs: 60_000,
    ...extra,
  };
}
