// How a release is shown while it runs: numbered steps with their timing, remote output streamed and indented,
// a progress bar for the front-end upload on a terminal.
import cliProgress from "cli-progress";
import { pc } from "./colors.js";
import { TOTAL_STEPS, type StepReporter } from "../release/deploy-release.js";
import type { Redactor } from "../secrets/index.js";
import type { Output } from "./report.js";

export function stepReporter(output: Output, redact: Redactor, interactive: boolean): StepReporter {
  let bar: cliProgress.SingleBar | undefined;
  let pending = "";
  const flush = (chunk: string) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) output.err(`      ${redact(line)}`);
  };
  return {
    start: (step, title) => output.err(pc.bold(`[${step}/${TOTAL_STEPS}] ${title}`)),
    done: (step, seconds) => {
      if (pending) flush("\n");
      bar?.stop();
      bar = undefined;
      output.err(pc.dim(`[${step}/${TOTAL_STEPS}] ${seconds.toFixed(1)} s`));
    },
    output: {
      onCommand: (line) => output.err(`    ${redact(line)}`),
      onOutput: flush,
      onUpload: (done, total) => {
        if (!interactive) {
          if (done === total) output.err(`    uploaded ${total} front-end files`);
          return;
        }
        bar ??= new cliProgress.SingleBar(
          { stream: process.stderr, format: "    upload [{bar}] {value}/{total} files", hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        if (done === 1) bar.start(total, 0);
        bar.update(done);
      },
    },
  };
}
