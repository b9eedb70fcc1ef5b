// Secrets: the references an environment holds in place of values, their values (process environment, the
// untracked <name>.secrets.env, a password manager's command, defaults), the placeholders shown instead, and the
// redactor every printed text passes through. The stages import this index only. Effects: readSecretsFile reads a
// file; runSecretCommands runs programs; resolveSecrets remembers each value it resolves for redactKnownSecrets (the
// one piece of state); the rest is pure.
export {
  findSecretReferences,
  isSecretRef,
  mapSecretRefs,
  resolveSecretValues,
  resolveTemplateVars,
  type SecretLookup,
  type SecretReference,
} from "./references.js";
export { MIN_SECRET_LENGTH, readSecretsFile, resolveSecrets, setOutside, type SecretSources, type SecretValues } from "./resolve.js";
export { runSecretCommands, type CommandOutcome } from "./commands.js";
export { isPlaceholder, placeholder, placeholderFor } from "./placeholder.js";
export { createRedactor, environmentRedactor, HIDDEN_LINE, printableContent, secretForms, secretSafeSides, type Redactor } from "./redact.js";
export { redactKnownSecrets, rememberSecret } from "./known.js";
