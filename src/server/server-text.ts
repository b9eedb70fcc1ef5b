// Control characters, which could move the cursor, rewrite a line or change the terminal's title, shown escaped as
// `ls -b` shows them. The CLI's output layer (src/cli/output.ts) shows all human text through visibleLines, whatever
// its origin; visibleText is for text from the server kept as a value (journal lines, a command's output, fields of
// the release log), which then reads the same in JSON.

// C0 and C1 controls, DEL, and the bidirectional overrides and isolates that reorder what a line appears to say.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control character as a visible escape (`\x1b`, `\u202e`); printable text unchanged. */
export function visibleText(text: string): string {
  return text.replace(CONTROL, escaped);
}

/** visibleText for text of several lines, as the terminal shows it: line breaks and tabs stay, they move no text over another. */
export function visibleLines(text: string): string {
  return text.replace(CONTROL, (c) => (c === "\n" || c === "\t" ? c : escaped(c)));
}

function escaped(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}
