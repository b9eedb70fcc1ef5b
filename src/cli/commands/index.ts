// Every command, in the order --help lists them.
import type { GenCommand } from "../command.js";
import { applyCommand } from "./apply.js";
import { checkCommand } from "./check.js";
import { completionCommand } from "./completion.js";
import { deployCommand } from "./deploy.js";
import { diffCommand } from "./diff.js";
import { doctorCommand } from "./doctor.js";
import { initCommand } from "./init.js";
import { releasesCommand, rollbackCommand } from "./releases.js";
import { listCommand } from "./list.js";
import { logsCommand } from "./logs.js";
import { runCommand } from "./run.js";
import { renderCommand } from "./render.js";
import { schemaCommand } from "./schema.js";
import { showCommand } from "./show.js";
import { statusCommand } from "./status.js";
import { templatesCommand } from "./templates.js";
import { validateCommand } from "./validate.js";

export const COMMANDS: GenCommand[] = [
  renderCommand,
  validateCommand,
  diffCommand,
  statusCommand,
  applyCommand,
  deployCommand,
  checkCommand,
  doctorCommand,
  releasesCommand,
  rollbackCommand,
  logsCommand,
  runCommand,
  showCommand,
  listCommand,
  schemaCommand,
  initCommand,
  templatesCommand,
  completionCommand,
];
