// The work of `gen doctor`, loaded only when the command runs (keeps start-up small).
import { describeDoctor, doctorProblems, doctorSpec, runDoctor } from "../../doctor/doctor-checks.js";
import { postgresLoginValues } from "../../doctor/postgres-login.js";
import { forEachHost } from "../../transport/open-transport.js";
import { connectOptions } from "../connect-options.js";
import { loadWithoutSecrets, printSandboxNote } from "../environment-options.js";
import { hostChecksJson, printHostChecks, printResult } from "../report.js";
import type { ExitCode } from "../../errors.js";
import type { GlobalOptions } from "../environment-options.js";
import type { Output } from "../report.js";
import type { DoctorArgs } from "./doctor.js";

export async function runDoctorCommand(argv: DoctorArgs & GlobalOptions, output: Output): Promise<ExitCode> {
  const loaded = await loadWithoutSecrets(argv.env, argv);
  const env = loaded.environment;
  if (!argv.json) printSandboxNote(output, loaded);
  // The database secrets only: without them every other check still runs, and the login says it was not checked.
  const values = await postgresLoginValues(loaded);
  const options = { envName: argv.env, minFreeMb: argv["min-free-mb"], ...(values && "skip" in values ? { loginSkip: values.skip } : {}) };
  // Logged in as the user that deploys: sudo -n -l is asked as that user, as a release asks it.
  const outcomes = await forEachHost(
    env,
    { ...connectOptions(argv, argv.env), sshUser: env.release.sshUser ?? env.server.deployUser },
    argv.concurrency,
    (transport, host) =>
      runDoctor(transport, doctorSpec(env, { ...options, roles: host.roles, root: transport.root }), values && "login" in values ? values.login : undefined),
  );
  const ready = outcomes.every((o) => o.ok && doctorProblems(o.value).length === 0);
  if (argv.json) {
    printResult(output, "doctor", { environment: argv.env, ok: ready, hosts: hostChecksJson(outcomes) });
    return ready ? 0 : 1;
  }
  printHostChecks(output, outcomes, (host, results) => {
    for (const result of results) for (const line of describeDoctor(result)) (result.status === "ok" ? output.out : output.err)(`${host}: ${line}`);
  });
  const problems = outcomes.reduce((n, o) => n + (o.ok ? doctorProblems(o.value).length : 1), 0);
  (ready ? output.out : output.err)(ready ? "ready for gen apply" : `not ready: ${problems} problem${problems === 1 ? "" : "s"} (each with its fix above)`);
  return ready ? 0 : 1;
}
