import type { GenCommand } from "../command.js";
import { withConnectOptions, withSudoPasswordOption, type ConnectArgs, type SudoPasswordArgs } from "../connect-options.js";
import { withEnvironment } from "../environment-options.js";

export interface DeployArgs extends ConnectArgs, SudoPasswordArgs {
  env: string;
  branch?: string;
  "skip-front-build": boolean;
  "celery-no-restart": boolean;
  yes: boolean;
  apply: boolean;
  source?: "clone" | "archive";
  repo?: string;
  "allow-dirty": boolean;
  "force-unlock": boolean;
}

export const deployCommand: GenCommand<DeployArgs> = {
  command: "deploy [env]",
  describe: "The release step: build, upload and switch to a new release, restart, keep the newest N",
  builder: (yargs) =>
    withSudoPasswordOption(withConnectOptions(withEnvironment(yargs)))
      .option("branch", { type: "string", requiresArg: true, describe: "branch to deploy (default: release.branch)" })
      .option("skip-front-build", { type: "boolean", default: false, describe: "upload the front end already built in the output folder" })
      .option("celery-no-restart", { type: "boolean", default: false, describe: "do not restart celery and celery beat (not recommended)" })
      .option("yes", { type: "boolean", default: false, describe: "do not ask before applying configuration changes" })
      .option("apply", { type: "boolean", default: true, describe: "apply configuration changes first (--no-apply stops instead)" })
      .option("source", {
        choices: ["clone", "archive"] as const,
        describe: "clone the branch on the server, or upload an archive of the local commit (default: release.source)",
      })
      .option("repo", {
        type: "string",
        requiresArg: true,
        describe: "the local checkout of the application (default: the git checkout the working folder is in)",
      })
      .option("allow-dirty", {
        type: "boolean",
        default: false,
        describe: "deploy even when the backend or front-end folder has uncommitted changes (the front end is built from them)",
      })
      .option("force-unlock", { type: "boolean", default: false, describe: "take over a lock left by an interrupted apply or deploy" }) as never,
  examples: [["gen deploy prod --branch main", "apply config if needed, then release main to prod"]],
  run: async (argv, output) => (await import("./deploy-run.js")).runDeploy(argv, output),
};
