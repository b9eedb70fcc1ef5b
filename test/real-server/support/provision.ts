// What an administrator does to a fresh Debian server before gen's first apply, done to a container's root before
// it boots: the packages are in the root filesystem already; this adds the accounts (an administrator with
// passwordless sudo, the deploy user), their SSH keys, fresh host keys, a certificate where certbot would leave one,
// and Poetry's settings for the deploy user. After the boot, PostgreSQL gets the application's role and database.
// Left undone on purpose: the deploy user is not in the socket's group (gen doctor must say so).
import { execFile } from "node:child_process";
import { chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { selfSignedCertificateArgs } from "../../../src/validate/tools/nginx-site.js";
import type { Container } from "./container.js";

const exec = promisify(execFile);

export interface ServerAccounts {
  admin: string;
  deployUser: string;
  domain: string;
  /** The client key (private key path on this machine) that both accounts accept. */
  clientKey: string;
}

export interface Database {
  name: string;
  user: string;
  password: string;
}

/** Runs a shell script chrooted into the container's root (before it boots). */
async function inRoot(root: string, script: string): Promise<void> {
  await exec("chroot", [root, "/bin/sh", "-euc", script], { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8" } });
}

export async function makeClientKey(dir: string): Promise<string> {
  const key = join(dir, "client_ed25519");
  await exec("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "gen-real-server", "-f", key]);
  return key;
}

export async function provisionServer(root: string, accounts: ServerAccounts): Promise<void> {
  const { admin, deployUser, domain } = accounts;
  writeFileSync(join(root, "etc/hostname"), "gen-real-server\n");
  // sudo resolves the host name on every call.
  writeFileSync(join(root, "etc/hosts"), "127.0.0.1 localhost\n127.0.1.1 gen-real-server\n::1 localhost ip6-localhost ip6-loopback\n");
  await inRoot(
    root,
    [
      "rm -f /etc/ssh/ssh_host_*",
      "ssh-keygen -A -q",
      `useradd --create-home --shell /bin/bash ${admin}`,
      `useradd --create-home --shell /bin/bash ${deployUser}`,
      `printf '%s ALL=(ALL) NOPASSWD: ALL\\n' ${admin} > /etc/sudoers.d/admin && chmod 0440 /etc/sudoers.d/admin`,
      "printf 'PasswordAuthentication no\\nUseDNS no\\n' > /etc/ssh/sshd_config.d/gen-test.conf",
      // Poetry makes each release's virtualenv inside it, seeing Debian's packages (there is no PyPI here).
      `runuser -u ${deployUser} -- poetry config virtualenvs.in-project true`,
      `runuser -u ${deployUser} -- poetry config virtualenvs.options.system-site-packages true`,
    ].join("\n"),
  );
  const publicKey = readFileSync(`${accounts.clientKey}.pub`, "utf8");
  for (const user of [admin, deployUser]) {
    const { uid, gid } = idsOf(root, user);
    const ssh = join(root, "home", user, ".ssh");
    mkdirSync(ssh, { mode: 0o700 });
    writeFileSync(join(ssh, "authorized_keys"), publicKey, { mode: 0o600 });
    chownSync(ssh, uid, gid);
    chownSync(join(ssh, "authorized_keys"), uid, gid);
  }
  await makeCertificate(root, domain);
}

/** Where certbot leaves its files: a self-signed certificate valid for 90 days, its nginx options and dhparams. */
async function makeCertificate(root: string, domain: string): Promise<void> {
  const letsencrypt = join(root, "etc/letsencrypt");
  const live = join(letsencrypt, "live", domain);
  mkdirSync(live, { recursive: true });
  await exec("openssl", selfSignedCertificateArgs({ commonName: domain, days: 90, keyOut: join(live, "privkey.pem"), certOut: join(live, "fullchain.pem") }));
  await exec("openssl", ["genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048", "-out", join(letsencrypt, "ssl-dhparams.pem")]);
  writeFileSync(
    join(letsencrypt, "options-ssl-nginx.conf"),
    "ssl_session_cache shared:le_nginx_SSL:10m;\nssl_session_timeout 1440m;\nssl_session_tickets off;\nssl_protocols TLSv1.2 TLSv1.3;\nssl_prefer_server_ciphers off;\n",
  );
}

/** The numeric ids of a user of the container (its own /etc/passwd: no user namespace, so they are the host's too). */
export function idsOf(root: string, user: string): { uid: number; gid: number } {
  const line = readFileSync(join(root, "etc/passwd"), "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no user ${user} in the container`);
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** The application's role and database, as `sudo -u postgres createuser/createdb` would make them. */
export async function createDatabase(container: Container, db: Database): Promise<void> {
  const role = `CREATE ROLE ${db.user} LOGIN PASSWORD '${db.password.replace(/'/g, "''")}'`;
  // Two -c: CREATE DATABASE cannot run in the transaction of a multi-statement string.
  const result = await container.exec(["psql", "-v", "ON_ERROR_STOP=1", "-q", "-c", role, "-c", `CREATE DATABASE ${db.name} OWNER ${db.user}`], {
    user: "postgres",
    cwd: "/",
  });
  if (result.code !== 0) throw new Error(`creating the database failed: ${result.err}`);
}
