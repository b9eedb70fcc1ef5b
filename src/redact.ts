// Secret values never reach output: every printed text goes through a redactor built from the loaded secrets.
import { pythonString } from "./render/python-literal.js";

export type Redactor = (text: string) => string;

export function createRedactor(secrets: Map<string, string>, showSecrets = false): Redactor {
  if (showSecrets || secrets.size === 0) return (text) => text;
  const replacements: [string, string][] = [];
  for (const [name, value] of secrets) {
    const placeholder = `[secret:${name}]`;
    for (const form of new Set([value, pythonString(value).slice(1, -1), JSON.stringify(value).slice(1, -1)])) {
      if (form.length > 0) replacements.push([form, placeholder]);
    }
  }
  // Longest first, so a secret that contains another is replaced whole.
  replacements.sort((a, b) => b[0].length - a[0].length);
  return (text) => replacements.reduce((out, [form, placeholder]) => out.split(form).join(placeholder), text);
}

/**
 * Redacts the secret-bearing lines of a file and of the server's version of it, so a diff shows that a secret
 * changed without showing either value. A line of `desired` holding a secret gives a prefix and suffix; the
 * server line with the same prefix and suffix holds the old value, whatever it is.
 */
export function redactSecretLines(desired: string, current: string, secrets: Map<string, string>): { desired: string; current: string } {
  const shapes: { prefix: string; suffix: string; name: string; value: string }[] = [];
  const desiredLines = desired.split("\n").map((line) => {
    for (const [name, value] of secrets) {
      for (const form of new Set([value, pythonString(value).slice(1, -1)])) {
        const at = line.indexOf(form);
        if (at < 0) continue;
        shapes.push({ prefix: line.slice(0, at), suffix: line.slice(at + form.length), name, value: form });
        return `${line.slice(0, at)}[secret:${name}]${line.slice(at + form.length)}`;
      }
    }
    return line;
  });
  const currentLines = current.split("\n").map((line) => {
    const shape = shapes.find((s) => line.length >= s.prefix.length + s.suffix.length && line.startsWith(s.prefix) && line.endsWith(s.suffix));
    if (!shape) return line;
    const middle = line.slice(shape.prefix.length, line.length - shape.suffix.length);
    return `${shape.prefix}[secret:${shape.name}${middle === shape.value ? "" : " (different value)"}]${shape.suffix}`;
  });
  return { desired: desiredLines.join("\n"), current: currentLines.join("\n") };
}
