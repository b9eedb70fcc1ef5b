// What stands for a secret wherever it may be shown: [secret:NAME]. Render renders every file a second time with
// placeholders (what may be shown), and the redactor prints a value it finds the same way.
import type { SecretLookup } from "./references.js";

export function placeholderFor(name: string): string {
  return `[secret:${name}]`;
}

/** The lookup of the shown rendering: every reference resolves to its placeholder, never to its value. */
export const placeholder: SecretLookup = (ref) => placeholderFor(ref.secret);

/** True when text is exactly one placeholder. */
export function isPlaceholder(text: string): boolean {
  return /^\[secret:[A-Za-z0-9_]+\]$/.test(text);
}

/** The placeholder marked as standing for a value that differs from gen's: [secret:NAME (different value)]. */
export function differentValue(shown: string): string {
  return shown.replace(/\]$/, " (different value)]");
}
