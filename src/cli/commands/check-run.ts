// The work of `gen check`, loaded only when the command runs (keeps start-up small).
import { serverShell } from "../../server/server-shell.js";
import { describeCheckLines, failedChecks, runSmokeChecks, smokeCheckSpec } from "../../release/smoke-checks.js";
import { forEachHost } from "../../transport/open-transport.js";
import { connectOptions, type ConnectArgs } from "../connect-options.js";
import { loadWithoutSecrets } from "../environment-options.js";
import { hostChecksJson, printHostChecks, printResult } from "../report.js";
import type { ExitCode } from "../../errors.js";
import type { GlobalOptions } from "../environment-options.js";
import type { Output } from "../report.js";

export async function runCheck(argv: ConnectArgs & { env: string } & GlobalOptions, output: Output): Promise<ExitCode> {
  const loaded = await loadWithoutSecrets(argv.env, argv);
  const env = loaded.environment;
  const outcomes = await forEachHost(
    env,
    { ...connectOptions(argv, argv.env), sshUser: env.release.sshUser ?? env.server.deployUser },
    argv.concurrency,
    (transport, host) =>
      runSmokeChecks(serverShell(transport, env, { sudo: false }), env, smokeCheckSpec(env, { roles: host.roles, celery: true, root: transport.root })),
  );
  const passed = outcomes.every((o) => o.ok && failedChecks(o.value).length === 0);
  if (argv.json) {
    printResult(output, "check", { environment: argv.env, ok: passed, hosts: hostChecksJson(outcomes) });
    return passed ? 0 : 1;
  }
  printHostChecks(output, outcomes, (host, checks) => {
    for (const check of checks) for (const line of describeCheckLines(check)) (check.status === "fail" ? output.err : output.out)(`${host}: ${line}`);
  });
  return passed ? 0 : 1;
}
