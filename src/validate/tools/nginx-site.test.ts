import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CONTEXT, NGINX_SITE, nginxFile, replaceOnce } from "../../../test/fixtures/tools/reference-bundle.js";
import { assertFailedWith, assertNotRunWith, assertPassed, withEmptyPath, withScratch } from "../../../test/fixtures/tools/scratch.js";
import type { ToolRunOptions } from "./tool-report.js";
import { checkNginxSite, rewriteHostPaths } from "./nginx-site.js";

const check = (content: string, extra: ToolRunOptions = {}) => withScratch((options) => checkNginxSite([nginxFile(content)], CONTEXT, options), extra);

describe("checkNginxSite", () => {
  it("passes the reference site with letsencrypt stand-ins", async () => {
    assertPassed(await check(NGINX_SITE));
  });

  it("passes without namespaces too (the fallback)", async () => {
    assertPassed(await check(NGINX_SITE, { namespaces: false }));
  });

  it("fails a directive typo, naming the server path and line", async () => {
    const report = await check(replaceOnce(NGINX_SITE, "proxy_redirect off;", "proxy_redirct off;"));
    assertFailedWith(report, 'unknown directive "proxy_redirct" in /etc/nginx/sites-available/tsosi-app:');
  });

  it("fails a missing semicolon", async () => {
    const report = await check(replaceOnce(NGINX_SITE, "keepalive_timeout 5;", "keepalive_timeout 5"));
    assertFailedWith(report, 'invalid number of arguments in "keepalive_timeout" directive');
  });

  it("fails a certificate for a domain outside certificateDomains", async () => {
    const report = await check(NGINX_SITE.replaceAll("/live/tsosi.org/", "/live/example.org/"));
    assertFailedWith(report, "/etc/letsencrypt/live/example.org/fullchain.pem");
    assertFailedWith(report, "certificate for example.org is not expected");
  });

  it("fails on a [warn] although nginx -t exits 0", async () => {
    const report = await check(`${NGINX_SITE}\nserver {\n  listen 80;\n  server_name _;\n  return 444;\n}\n`);
    assertFailedWith(report, '[warn] conflicting server name "_"');
  });

  it("points logs, letsencrypt files and unix sockets into the work folder, keeping line numbers", () => {
    const rewritten = rewriteHostPaths(NGINX_SITE, "/w");
    assert.ok(rewritten.includes("access_log /w/logs/var_log_nginx_access.log combined;"));
    assert.ok(rewritten.includes("ssl_certificate /w/le/live/tsosi.org/fullchain.pem;"));
    assert.ok(!rewritten.includes("/etc/letsencrypt"));
    assert.ok(rewriteHostPaths("  listen unix:/run/x.sock;", "/w").includes("listen unix:/w/tmp/run_x.sock;"));
    assert.equal(rewritten.split("\n").length, NGINX_SITE.split("\n").length);
  });

  it("is not-run, naming the package, when nginx is missing", async () => {
    const report = await withEmptyPath((options) => checkNginxSite([nginxFile()], CONTEXT, options));
    assertNotRunWith(report, "nginx not found", '"nginx"');
  });
});
