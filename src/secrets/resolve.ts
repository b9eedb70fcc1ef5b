// Secret values come from the process environment, an untracked environments/<name>.secrets.env, or a secret's own
// command (commands.ts), in that order; the environment itself only holds references. Every reference is checked at once, and values never reach output.
import { existsSync, readFileSync } from "node:fs";
import { parse as parseDotenv } from "dotenv";
import type { SecretRef } from "../../schema/index.js";
import { GenError } from "../errors.js";
import { rememberSecret } from "./known.js";
import type { CommandOutcome } from "./commands.js";
import { placeholderFor } from "./placeholder.js";
import type { SecretLookup, SecretReference } from "./references.js";

/** Shorter values would be found inside ordinary words when output is redacted. */
export const MIN_SECRET_LENGTH = 8;

export interface SecretValues {
  /** variable name -> value, for every secret the environment references. */
  values: Map<string, string>;
  lookup: SecretLookup;
}

/** The NAME=value lines of a secrets file (none when it does not exist); `shown` names it in the error when it cannot be read. */
export function readSecretsFile(file: string, shown = file): Record<string, string> {
  if (!existsSync(file)) return {};
  try {
    return parseDotenv(readFileSync(file));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "EACCES" ? "permission denied" : code === "EISDIR" ? "it is a folder" : (error as Error).message;
    throw new GenError(`cannot read the secrets file ${shown}: ${why}; make it readable to you, or export its variables instead`);
  }
}

export interface SecretSources {
  processEnv: NodeJS.ProcessEnv;
  secretsFile: string;
  fileValues: Record<string, string>;
  /**
   * What each secret's command gave (runSecretCommands), or "placeholders": the commands were not run because the
   * command needs no value (gen validate), and such a secret stands for itself, `[secret:NAME]`.
   */
  commands?: Map<string, CommandOutcome> | "placeholders";
}

/** The value of a secret set in the process environment or the secrets file, where those win over its command. */
export function setOutside(sources: Pick<SecretSources, "processEnv" | "fileValues">, name: string): boolean {
  return (sources.processEnv[name] ?? sources.fileValues[name] ?? "") !== "";
}

/** Returns the values, or one message per missing secret. */
export function resolveSecrets(references: SecretReference[], sources: SecretSources): { values: SecretValues } | { missing: string[] } {
  const values = new Map<string, string>();
  const missing: string[] = [];
  for (const { field, ref } of references) {
    if (ref.command !== undefined && !setOutside(sources, ref.secret)) {
      const outcome = sources.commands === "placeholders" ? { value: placeholderFor(ref.secret), standIn: true } : sources.commands?.get(ref.secret);
      if (outcome === undefined || "failure" in outcome) {
        missing.push(
          `${field}: secret ${ref.secret}: ${outcome?.failure ?? `its command \`${ref.command[0]}\` was not run`}; export ${ref.secret}=... to do without it`,
        );
        continue;
      }
      if ("standIn" in outcome) {
        values.set(ref.secret, outcome.value);
        continue;
      }
    }
    const value = sources.processEnv[ref.secret] ?? sources.fileValues[ref.secret] ?? commandValue(sources, ref.secret) ?? ref.default;
    if (value === undefined || value === "") {
      missing.push(`${field}: secret ${ref.secret} is not set: export ${ref.secret}=... or add it to ${sources.secretsFile}`);
    } else if (value.length < MIN_SECRET_LENGTH) {
      missing.push(
        `${field}: secret ${ref.secret} is shorter than ${MIN_SECRET_LENGTH} characters: too weak, and too short to be redacted from output reliably`,
      );
    } else {
      values.set(ref.secret, value);
      rememberSecret(ref.secret, value);
    }
  }
  if (missing.length > 0) return { missing };
  const lookup = (ref: SecretRef): string => {
    const value = values.get(ref.secret);
    if (value === undefined) throw new Error(`secret ${ref.secret} was not resolved`);
    return value;
  };
  return { values: { values, lookup } };
}

function commandValue(sources: SecretSources, name: string): string | undefined {
  const outcome = sources.commands === "placeholders" ? undefined : sources.commands?.get(name);
  return outcome && "value" in outcome ? outcome.value : undefined;
}
