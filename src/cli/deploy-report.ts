// How a release is shown while it runs: numbered steps with their timing, remote output streamed and indented,
// a progress bar for the front-end upload on a terminal.
import { pc } from "./colors.js";
import { TOTAL_STEPS, type StepReporter } from "../release/deploy-release.js";
import type { Output, ProgressBar } from "./output.js";

export function stepReporter(output: Output): StepReporter {
  let bar: ProgressBar | undefined;
  let pending = "";
  const flush = (chunk: string) => {
    pending += chunk;
    // A carriage return ends a line too: a tool's progress line is shown as lines, not drawn over itself.
    const lines = pending.split(/\r\n|\r|\n/);
    pending = lines.pop() ?? "";
    for (const line of lines) output.err(`      ${line}`);
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
      onCommand: (line) => output.err(`    ${line}`),
      onOutput: flush,
      onUpload: (done, total) => {
        bar ??= output.progressBar("    upload", "files");
        if (!bar) {
          if (done === total) output.err(`    uploaded ${total} front-end files`);
          return;
        }
        bar.update(done, total);
      },
    },
  };
}
