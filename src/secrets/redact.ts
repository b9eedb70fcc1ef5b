// Secret values never reach output: every printed text goes through a redactor built from the loaded secrets.
import { pythonString } from "../python-string.js";
import { differentValue, isPlaceholder, placeholderFor } from "./placeholder.js";
import { findSecretReferences, type SecretLookup } from "./references.js";

export type Redactor = (text: string) => string;

export function createRedactor(secrets: Map<string, string>, showSecrets = false): Redactor {
  if (showSecrets || secrets.size === 0) return (text) => text;
  const replacements: [string, string][] = [];
  for (const [name, value] of secrets) {
    const placeholder = placeholderFor(name);
    for (const form of new Set([value, pythonString(value).slice(1, -1), JSON.stringify(value).slice(1, -1)])) {
      if (form.length > 0) replacements.push([form, placeholder]);
    }
  }
  // Longest first, so a secret that contains another is replaced whole.
  replacements.sort((a, b) => b[0].length - a[0].length);
  return (text) => replacements.reduce((out, [form, placeholder]) => out.split(form).join(placeholder), text);
}

/**
 * What of a rendered file may be printed: the file rendered with placeholders (so also where a template filter
 * transformed a secret), or its content with showSecrets; through the redactor either way.
 */
export function printableContent(file: { content: string; shown?: string }, redact: Redactor, showSecrets: boolean): string {
  return redact(showSecrets ? file.content : (file.shown ?? file.content));
}

/** A redactor for every secret an environment references, its values taken from lookup. */
export function environmentRedactor(environment: unknown, lookup: SecretLookup): Redactor {
  return createRedactor(new Map(findSecretReferences(environment).map(({ ref }) => [ref.secret, lookup(ref)])));
}

/** Stands for a line of a server file holding secrets that gen cannot prove free of a secret value. */
export const HIDDEN_LINE = "[server line hidden: this file holds secrets; --show-secrets shows it]";

/**
 * The two sides of a diff of a file holding secrets, safe to print whatever the server's file looks like. gen's side
 * is the file rendered with placeholders (`shown`). A server line is printed only when it is a line gen renders
 * (then as gen shows it), or when it has the shape of a secret-bearing line of gen (the same text before and after
 * the value: only that text is printed, the value is not); every other server line is replaced by HIDDEN_LINE.
 */
export function secretSafeSides(content: string, shown: string, current: string): { desired: string; current: string } {
  const realLines = content.split("\n");
  const shownLines = shown.split("\n");
  const asShown = new Map<string, string>();
  const shapes: { prefix: string; suffix: string; middle: string }[] = [];
  if (realLines.length === shownLines.length) {
    realLines.forEach((real, i) => {
      const display = shownLines[i]!;
      if (!asShown.has(real)) asShown.set(real, display);
      const found = real === display ? undefined : shape(real, display);
      if (found) shapes.push(found);
    });
  } else {
    // A secret or a filter spanned lines: only lines that are the same in both renderings are known to be clean.
    const shownSet = new Set(shownLines);
    for (const real of realLines) if (shownSet.has(real)) asShown.set(real, real);
  }
  const currentLines = current.split("\n").map((line) => {
    const known = asShown.get(line);
    if (known !== undefined) return known;
    const match = shapes.find((s) => line.length >= s.prefix.length + s.suffix.length && line.startsWith(s.prefix) && line.endsWith(s.suffix));
    return match ? `${match.prefix}${differentValue(match.middle)}${match.suffix}` : HIDDEN_LINE;
  });
  return { desired: shown, current: currentLines.join("\n") };
}

/**
 * The text a real line and its shown form share at both ends (taken from the shown form, so free of secrets), and
 * the shown middle. Only a placeholder-shaped middle with some text around it makes a usable shape.
 */
function shape(real: string, display: string): { prefix: string; suffix: string; middle: string } | undefined {
  let start = 0;
  while (start < real.length && start < display.length && real[start] === display[start]) start++;
  let end = 0;
  while (end < real.length - start && end < display.length - start && real[real.length - 1 - end] === display[display.length - 1 - end]) end++;
  const prefix = display.slice(0, start);
  const suffix = display.slice(display.length - end);
  const middle = display.slice(start, display.length - end);
  // Without a placeholder in the middle or any fixed text before it, every line would match: no shape.
  if (!isPlaceholder(middle) || prefix.trim() === "") return undefined;
  return { prefix, suffix, middle };
}
