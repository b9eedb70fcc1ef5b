// Escaping for each file format. The schema already restricts most values to safe patterns; these functions are
// the second line: a value that would change a file's structure is escaped, or refused with an error.

/** A word on a systemd Exec*= line: % and $ are doubled (systemd specifiers and variables), odd words are quoted. */
export function systemdWord(word: string): string {
  refuseControl(word, "systemd command word");
  const escaped = word.replaceAll("%", "%%").replaceAll("$", "$$$$");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

export function systemdArgv(argv: string[]): string {
  return argv.map(systemdWord).join(" ");
}

/** A value in an nginx directive: only a conservative character set passes, anything else is refused. */
export function nginxValue(value: string | number): string {
  const text = String(value);
  if (!/^[A-Za-z0-9._/:@+[\]-]+$/.test(text)) {
    throw new Error(`value ${JSON.stringify(text)} cannot be written into an nginx directive safely`);
  }
  return text;
}

/** A word in a sudoers command line: , : = and \ are sudoers syntax and get a backslash; whitespace, wildcards and # cannot be expressed safely. */
export function sudoersWord(word: string): string {
  refuseControl(word, "sudoers word");
  if (/[#*?[]/.test(word) || word.trim() !== word || word === "") {
    throw new Error(`value ${JSON.stringify(word)} is empty, has leading or trailing whitespace, a sudoers wildcard or a comment character`);
  }
  return word.replace(/([\\,:= ])/g, "\\$1");
}

/** A path or word in a logrotate file: no quotes, braces or spaces can appear there. */
export function logrotateWord(word: string): string {
  if (!/^[A-Za-z0-9._/*?+@-]+$/.test(word)) {
    throw new Error(`value ${JSON.stringify(word)} cannot be written into a logrotate file safely`);
  }
  return word;
}

function refuseControl(value: string, what: string): void {
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new Error(`${what} ${JSON.stringify(value)} contains a control character`);
}
