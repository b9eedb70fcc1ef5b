// gen's colours, as styled parts of human text: the Output (output.ts) lays them on after escaping the text, and
// only on a terminal (NO_COLOR turns them off, FORCE_COLOR on).
import type { Style, Styled } from "./output.js";

const style =
  (name: Style) =>
  (text: string): Styled => ({ style: name, text });

export const pc = { bold: style("bold"), dim: style("dim"), red: style("red"), green: style("green"), yellow: style("yellow"), cyan: style("cyan") };
