import type { GenCommand } from "../command.js";
import { withConnectOptions, type ConnectArgs } from "../connect-options.js";
import { withEnvironment } from "../environment-options.js";

/** Free space wanted for paths.releases unless --min-free-mb says otherwise: a release with its .venv is a few hundred MiB. */
export const DEFAULT_MIN_FREE_MB = 2048;

export type DoctorArgs = ConnectArgs & { env: string; "min-free-mb": number };

export const doctorCommand: GenCommand<DoctorArgs> = {
  command: "doctor [env]",
  describe:
    "Check that the server is ready for the first apply (users, units, Python, Poetry, the PostgreSQL login, Redis, certificates, disk, sudo), each problem with its fix",
  builder: (yargs) =>
    withConnectOptions(withEnvironment(yargs)).option("min-free-mb", {
      type: "number",
      default: DEFAULT_MIN_FREE_MB,
      describe: "free space (MiB) wanted on the disk of paths.releases",
      coerce: (value: number) => {
        if (!Number.isInteger(value) || value < 0) throw new Error("option --min-free-mb expects a whole number of MiB");
        return value;
      },
    }) as never,
  examples: [["gen doctor prod", "before the first apply: every problem at once, each with the command that fixes it; exit 0 when ready"]],
  run: async (argv, output) => (await import("./doctor-run.js")).runDoctorCommand(argv, output),
};
