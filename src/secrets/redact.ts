// Secret values never reach output: everything gen prints goes through the CLI's output layer, which redacts every
// secret value gen has read (known.ts) in each form it can take on the way out.
import { pythonString } from "../python-string.js";
import { differentValue, isPlaceholder, placeholderFor } from "./placeholder.js";
import { findSecretReferences, type SecretLookup } from "./references.js";

export type Redactor = (text: string) => string;

/**
 * The forms a value takes in what gen prints: as it is; as settings_local.py writes it (gen's Python literal); in a
 * double- or single-quoted literal of C, JavaScript or Python's repr; inside a shell word's single quotes; in JSON with
 * non-ASCII escaped (Python's json.dumps) and URL-encoded; and each of those inside a JSON string, once or twice (a
 * message quoting JSON, printed as JSON).
 */
export function secretForms(value: string): string[] {
  const bases = new Set([
    value,
    pythonString(value).slice(1, -1),
    backslashed(value, '"'),
    backslashed(value, "'"),
    value.replaceAll("'", `'\\''`),
    asciiJson(value),
    encodeURIComponent(value),
  ]);
  const forms = new Set<string>();
  for (const base of bases) {
    const once = jsonInner(base);
    for (const form of [base, once, jsonInner(once)]) if (form.length > 0) forms.add(form);
  }
  return [...forms];
}

/**
 * `secrets` (name -> value) replaced in any text by their placeholders, in every form secretForms knows; a form two
 * secrets share is shown as the first one's.
 */
export function createRedactor(secrets: Iterable<[string, string]>, showSecrets = false): Redactor {
  const placeholders = new Map<string, string>();
  for (const [name, value] of secrets) for (const form of secretForms(value)) if (!placeholders.has(form)) placeholders.set(form, placeholderFor(name));
  if (showSecrets || placeholders.size === 0) return (text) => text;
  // Longest first, so a secret that contains another (or a form that contains another form) is replaced whole.
  const alternatives = [...placeholders.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const pattern = new RegExp(alternatives.join("|"), "g");
  return (text) => text.replace(pattern, (form) => placeholders.get(form)!);
}

function backslashed(value: string, quote: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll(quote, `\\${quote}`);
}

function jsonInner(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

function asciiJson(value: string): string {
  return jsonInner(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * What of a rendered file may be printed: the file rendered with placeholders (so also where a template filter
 * transformed a secret, which no redactor could find), or its content with showSecrets.
 */
export function printableContent(file: { content: string; shown?: string }, showSecrets: boolean): string {
  return showSecrets ? file.content : (file.shown ?? file.content);
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
