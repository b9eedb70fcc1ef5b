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
