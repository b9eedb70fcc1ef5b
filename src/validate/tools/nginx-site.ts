// nginx sites: `nginx -t -q` on a throwaway main config that includes path-rewritten copies of the sites.
// nginx -t is not side-effect free (creates the pid file and every log, mkdir+chown of temp paths, binds every
// listen address), so every such path points into the work folder and the run gets a private network
// namespace when `unshare` works. Letsencrypt files get stand-ins, certificates only for context.certificateDomains.
// In: rendered files of kind "nginx-site" + context. Out: one "nginx" report; any [warn]/[emerg] line fails.
// Effects: writes only in a throwaway folder.

import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { RenderedFile } from "../../types.js";
import { namespaceSupport } from "./namespaces.js";
import type { ToolCheckContext, ToolReport, ToolRunOptions } from "./tool-report.js";
import {
  childEnv,
  describeExit,
  envOf,
  findExecutable,
  isRoot,
  missingBinary,
  notRun,
  outputLines,
  report,
  runCommand,
  timeoutOf,
  withTempDir,
} from "./tool-runner.js";

const LETSENCRYPT = "/etc/letsencrypt/";
const HOST_MIME_TYPES = "/etc/nginx/mime.types";

/** certbot's options-ssl-nginx.conf (certbot-nginx tls_configs), as installed on the server. */
const CERTBOT_SSL_OPTIONS = `ssl_session_cache shared:le_nginx_SSL:10m;
ssl_session_timeout 1440m;
ssl_session_tickets off;
ssl_protocols TLSv1.2 TLSv1.3;
ssl_prefer_server_ciphers off;
ssl_ciphers "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";
`;

export async function checkNginxSite(files: RenderedFile[], context: ToolCheckContext, options: ToolRunOptions = {}): Promise<ToolReport> {
  const paths = files.map((file) => file.path);
  if (files.length === 0) return notRun("nginx", [], "no nginx sites");
  const env = envOf(options);
  const [nginx, openssl] = await Promise.all([findExecutable("nginx", env), findExecutable("openssl", env)]);
  if (nginx === undefined) return missingBinary("nginx", paths, "nginx", "nginx");
  if (openssl === undefined) return missingBinary("nginx", paths, "openssl (needed for the stand-in certificates)", "openssl");
  const support = await namespaceSupport(options);
  return withTempDir("nginx", options, async (dir) => {
    const runsAsRoot = isRoot() || support.net !== undefined; // --map-root-user counts
    const layout = await prepare(dir, files, context, openssl, runsAsRoot, options);
    const argv = [...(support.net ?? []), nginx, "-t", "-q", "-p", `${dir}/`, "-c", layout.mainConfig, "-e", "stderr"];
    const output = await runCommand(argv[0]!, argv.slice(1), { env: childEnv(options, dir), timeoutMs: timeoutOf(options) });
    const lines = outputLines(output.stderr + output.stdout, layout.replacements).map(withoutLogPrefix);
    if (support.net === undefined && !isRoot() && lines.some((line) => /bind\(\) to .* failed \(13: /.test(line))) {
      return notRun("nginx", paths, "nginx -t must bind the listen ports, which needs root or a network namespace (unshare unavailable or disabled)");
    }
    if (output.exitCode !== 0 && lines.length === 0) lines.push(describeExit("nginx", output));
    return report(
      "nginx",
      paths,
      lines.map((line) => explainMissingCertificate(line, context)),
    );
  });
}

interface Layout {
  mainConfig: string;
  /** [work-folder path, what to show instead] for messages. */
  replacements: Array<[string, string]>;
}

async function prepare(
  dir: string,
  files: RenderedFile[],
  context: ToolCheckContext,
  openssl: string,
  runsAsRoot: boolean,
  options: ToolRunOptions,
): Promise<Layout> {
  const conf = join(dir, "conf");
  const letsencrypt = join(dir, "le");
  await Promise.all(["conf/sites", "logs", "tmp", "le/live"].map((sub) => mkdir(join(dir, sub), { recursive: true })));
  const referenced = new Set(files.flatMap((file) => [...file.content.matchAll(/\/etc\/letsencrypt\/live\/([^/;\s]+)\//g)].map((m) => m[1]!)));
  const domains = context.certificateDomains.filter((domain) => referenced.has(domain) && /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(domain));
  const replacements: Array<[string, string]> = [
    [`${letsencrypt}/`, LETSENCRYPT],
    [`${dir}/logs/`, "<tmp>/logs/"],
    [`${dir}/tmp/`, "<tmp>/tmp/"],
    [dir, "<tmp>"],
  ];
  const sites = files.map((file, index) => ({ file, copy: join(conf, "sites", `${index}.conf`) }));
  for (const { file, copy } of sites) replacements.push([copy, file.path]);
  await Promise.all([
    copyFile(HOST_MIME_TYPES, join(conf, "mime.types")).catch(() => writeFile(join(conf, "mime.types"), "types {\n  text/html html;\n}\n")),
    makeLetsencryptStandIns(openssl, letsencrypt, domains, dir, options),
    ...sites.map(({ file, copy }) => writeFile(copy, rewriteHostPaths(file.content, dir))),
  ]);
  const mainConfig = join(conf, "nginx.conf");
  await writeFile(
    mainConfig,
    mainConfigText(
      sites.map((site) => site.copy),
      runsAsRoot,
    ),
  );
  return { mainConfig, replacements };
}

/** Stand-ins for what certbot leaves under /etc/letsencrypt, in `letsencrypt`: its nginx options, dhparams, live/<domain>/. */
export async function makeLetsencryptStandIns(openssl: string, letsencrypt: string, domains: string[], dir: string, options: ToolRunOptions): Promise<void> {
  await Promise.all([
    writeFile(join(letsencrypt, "options-ssl-nginx.conf"), CERTBOT_SSL_OPTIONS),
    runOpenssl(
      openssl,
      ["genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048", "-out", join(letsencrypt, "ssl-dhparams.pem")],
      dir,
      options,
    ),
    ...domains.map((domain) => makeStandInCertificate(openssl, join(letsencrypt, "live", domain), domain, dir, options)),
  ]);
}

/** `openssl` arguments that write a throwaway self-signed EC (P-256) certificate and its unencrypted key. */
export function selfSignedCertificateArgs(cert: { commonName: string; days: number; keyOut: string; certOut: string }): string[] {
  const curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
  return ["req", "-x509", ...curve, "-nodes", "-days", String(cert.days), "-subj", `/CN=${cert.commonName}`, "-keyout", cert.keyOut, "-out", cert.certOut];
}

/** Self-signed EC certificate + key under live/<domain>/ with certbot's file names. */
async function makeStandInCertificate(openssl: string, folder: string, domain: string, dir: string, options: ToolRunOptions): Promise<void> {
  await mkdir(folder, { recursive: true });
  await runOpenssl(
    openssl,
    selfSignedCertificateArgs({ commonName: domain, days: 2, keyOut: join(folder, "privkey.pem"), certOut: join(folder, "fullchain.pem") }),
    dir,
    options,
  );
  await Promise.all(["cert.pem", "chain.pem"].map((name) => copyFile(join(folder, "fullchain.pem"), join(folder, name))));
}

async function runOpenssl(openssl: string, args: string[], dir: string, options: ToolRunOptions): Promise<void> {
  const output = await runCommand(openssl, args, { env: childEnv(options, dir), cwd: dir, timeoutMs: timeoutOf(options) });
  if (output.exitCode !== 0)
    throw new Error(`openssl ${args[0]} failed while making nginx stand-ins: ${output.stderr.trim() || describeExit("openssl", output)}`);
}

/** Points letsencrypt files, logs, temp paths and unix listen sockets into the work folder; keeps line numbers. */
export function rewriteHostPaths(content: string, dir: string): string {
  const flatten = (path: string) => path.replace(/^\/+/, "").replace(/\//g, "_");
  return content
    .split(LETSENCRYPT)
    .join(`${dir}/le/`)
    .replace(/^(\s*(?:access_log|error_log)\s+)(\/[^\s;]+)/gm, (_m, head: string, path: string) => `${head}${dir}/logs/${flatten(path)}`)
    .replace(/^(\s*[a-z_]+_temp_path\s+)(\/[^\s;]+)/gm, (_m, head: string, path: string) => `${head}${dir}/tmp/${flatten(path)}`)
    .replace(/^(\s*listen\s+unix:)(\/[^\s;]+)/gm, (_m, head: string, path: string) => `${head}${dir}/tmp/${flatten(path)}`);
}

/** Every path nginx may create is relative to -p (the work folder); relative includes resolve against conf/. */
function mainConfigText(sites: string[], runsAsRoot: boolean): string {
  // As (namespace) root nginx chowns temp dirs to `user` (default nobody, unmapped in a user namespace);
  // as a plain user the directive only earns a [warn].
  const user = runsAsRoot ? "user root root;\n" : "";
  return `${user}pid logs/nginx.pid;
error_log stderr notice;
events { worker_connections 64; }
http {
  access_log logs/access.log;
  client_body_temp_path tmp/body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
${sites.map((site) => `  include ${site};\n`).join("")}}
`;
}

/** "nginx: [emerg] ..." and "2026/11/25 20:52:38 [warn] 7719#7719: ..." -> "[level] ..." */
function withoutLogPrefix(line: string): string {
  return line.replace(/^nginx: /, "").replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d (\[\w+\]) \d+#\d+: /, "$1 ");
}

function explainMissingCertificate(line: string, context: ToolCheckContext): string {
  const match = /\/etc\/letsencrypt\/live\/([^/"]+)\//.exec(line);
  if (match === null || context.certificateDomains.includes(match[1]!) || !/No such file/.test(line)) return line;
  return `${line} [certificate for ${match[1]} is not expected: certificateDomains = ${context.certificateDomains.join(", ") || "(none)"}]`;
}
