// Colour only on a terminal: NO_COLOR turns it off, FORCE_COLOR on. (picocolors' own default also colours
// whenever CI is set, which would put escape codes into CI logs and piped output.)
import picocolors from "picocolors";

function wantColor(): boolean {
  if ("NO_COLOR" in process.env) return false;
  if ("FORCE_COLOR" in process.env) return process.env.FORCE_COLOR !== "0";
  return process.stdout.isTTY === true && process.env.TERM !== "dumb";
}

export const pc = picocolors.createColors(wantColor());
