// Plain HTTP really reaches the redirect: Debian's /usr/sbin/nginx runs the rendered prod site beside Debian's own
// default site (`listen 80 default_server; server_name _;`), as a package install leaves it, and node's http client
// asks it on 127.0.0.1. The reference's `server_name _` port-80 block loses to that default site; gen's must not.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { packageRoot } from "../../src/paths.js";
import { renderedEnvironment } from "../support/rendered-environment.js";
import { withDebianNginx, type HttpAnswer, type NginxFile, type RunningNginx } from "./nginx-support/debian-nginx.js";

const SECRETS = { TSOSI_DB_PASSWORD: "nginx-it-db-password", TSOSI_SECRET_KEY: "nginx-it-secret-key-0123456789-abcdefghijklmnop" };
const SERVED_NAMES = ["tsosi.org", "www.tsosi.org", "tsosi.u-ga.fr"];
const PATH = "/some/path?x=1";
const REDIRECT = "https://tsosi.org/some/path?x=1";
/** The server's address, in prod's extraAllowedHosts but not a name of the site. */
const OTHER_HOST = "129.88.178.178";
const SITE = "/etc/nginx/sites-available/tsosi-app";

/** The port-80 block of /work/shared/reference/tsosi-app/tsosi-app.nginx.config, verbatim. */
const REFERENCE_PORT_80 = `# Port 80 -
# redirect all traffic to tsosi.org 443
server {
  listen 80;
  server_name _;
  return 301 https://tsosi.org$request_uri;
}
`;

async function renderedProdSite(): Promise<{ files: NginxFile[]; servedNames: string[] }> {
  const { loaded, files } = await renderedEnvironment("prod", join(packageRoot, "environments"), SECRETS);
  const nginxFiles = files.filter((file) => file.path.startsWith("/etc/nginx/"));
  assert.deepEqual(nginxFiles.map((file) => file.path).sort(), [SITE, "/etc/nginx/sites-enabled/tsosi-app"], "the nginx files gen renders for prod");
  return { files: nginxFiles, servedNames: [loaded.environment.app.domain, ...loaded.environment.app.redirectDomains] };
}

function assertRedirected(answer: HttpAnswer, host: string): void {
  assert.deepEqual({ status: answer.status, location: answer.location }, { status: 301, location: REDIRECT }, `Host: ${host}`);
}

/** Debian's default site answers: its page (200) or a 404 for the path, never a redirect. */
function assertDebianDefaultSite(answer: HttpAnswer, host: string): void {
  assert.ok([200, 404].includes(answer.status), `Host: ${host}: expected Debian's default site (200 or 404), got ${answer.status} ${answer.location ?? ""}`);
  assert.equal(answer.location, undefined, `Host: ${host}: Debian's default site does not redirect`);
}

const withGenSite = async (work: (nginx: RunningNginx, servedNames: string[]) => Promise<void>) => {
  const { files, servedNames } = await renderedProdSite();
  await withDebianNginx(files, ["tsosi.org"], (nginx) => work(nginx, servedNames));
};

describe("plain HTTP on nginx with Debian's default site enabled", { concurrency: 2 }, () => {
  it("gen's prod site passes nginx -t and redirects every served name to https://tsosi.org, keeping path and query", (t) =>
    withGenSite(async (nginx, servedNames) => {
      await t.test("prod serves exactly the expected names", () => assert.deepEqual(servedNames, SERVED_NAMES));
      await t.test("nginx -t in Debian's nginx.conf: no [emerg], no [warn]", () => assert.deepEqual(nginx.configTest, []));
      for (const host of SERVED_NAMES) {
        await t.test(`Host: ${host} gets 301 ${REDIRECT}`, async () => assertRedirected(await nginx.get(host, PATH), host));
      }
      await t.test(`Host: ${OTHER_HOST} is answered by Debian's default site`, async () =>
        assertDebianDefaultSite(await nginx.get(OTHER_HOST, PATH), OTHER_HOST),
      );
    }));

  it("the reference's `server_name _` port-80 block is shadowed: tsosi.org gets Debian's default site", () =>
    withDebianNginx(
      [
        { path: SITE, content: REFERENCE_PORT_80 },
        { path: "/etc/nginx/sites-enabled/tsosi-app", content: "", linkTarget: SITE },
      ],
      [],
      async (nginx) => {
        assert.equal(nginx.configTest.length, 1, nginx.configTest.join("\n"));
        assert.match(nginx.configTest[0]!, new RegExp(`\\[warn\\] \\d+#\\d+: conflicting server name "_" on 127\\.0\\.0\\.1:${nginx.http}, ignored`));
        for (const host of SERVED_NAMES) assertDebianDefaultSite(await nginx.get(host, PATH), host);
      },
    ));
});
