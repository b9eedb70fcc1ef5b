// Every secret value this process has read, with its name: filled where values are resolved (resolveSecrets), read by
// the CLI's output layer, which redacts them all from everything gen prints. A print site cannot forget a secret, and
// a command that reads one more (doctor's database login) needs to tell no one.
import { createRedactor, type Redactor } from "./redact.js";

const known = new Map<string, string>();
let redactor: Redactor | undefined;

export function rememberSecret(name: string, value: string): void {
  if (known.get(value) === name) return;
  known.set(value, name);
  redactor = undefined;
}

/** Replaces every secret value read so far, in every form it can be printed in, by its placeholder. */
export function redactKnownSecrets(text: string): string {
  redactor ??= createRedactor([...known].map(([value, name]) => [name, value]));
  return redactor(text);
}
