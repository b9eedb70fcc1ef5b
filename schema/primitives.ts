// Strict string patterns for every value that reaches sudoers, a unit or an nginx directive.
// A value that cannot match one of these is escaped by the template filters for its file format instead.
import { z } from "zod";

const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;

/** Any free text: no control characters (newline, NUL, ...), so it can never start a new line in any file. */
export const TextSchema = z.string().regex(NO_CONTROL, { error: "must not contain control characters (newline, tab, NUL)" });

export const NameSchema = z
  .string()
  .regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "expected a user or group name: lowercase letters, digits, _ and -, at most 32 characters" });

/** A systemd unit name without its suffix, e.g. myapp_gunicorn or redis-server. */
export const ServiceNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,100}$/, { error: "expected a service name: letters, digits, _ . @ -" })
  .refine((s) => !/\.(service|socket|target|timer)$/.test(s), { error: "give the service name without its .service/.socket suffix" });

/**
 * An absolute path below "/" made of safe characters only (no spaces, quotes, ; { } % $ \ or glob characters).
 * A trailing slash is dropped, so one folder is always spelled one way.
 */
export const AbsolutePathSchema = z
  .string()
  .regex(/^\/[A-Za-z0-9._+@-]*(\/[A-Za-z0-9._+@-]+)*\/?$/, { error: "expected an absolute path of letters, digits, / . _ - + @" })
  .refine((s) => !s.split("/").some((part) => part === ".." || part === "."), { error: "must not contain '.' or '..' segments" })
  .refine((s) => s.replace(/\/+$/, "") !== "", { error: "must be a path below /, not / itself" })
  .transform((s) => s.replace(/\/+$/, ""));

/** An absolute path that may contain * and ? globs (logrotate patterns). */
export const PathGlobSchema = z
  .string()
  .regex(/^\/[A-Za-z0-9._+@*?-]*(\/[A-Za-z0-9._+@*?-]+)*$/, { error: "expected an absolute path (globs * and ? allowed)" });

/** A path inside /run (systemd runtime folders), or where a program writes pid files; % placeholders allowed for celery. */
export const PidPathSchema = z
  .string()
  .regex(/^\/[A-Za-z0-9._+@%-]*(\/[A-Za-z0-9._+@%-]+)+$/, { error: "expected an absolute file path (celery placeholders like %n allowed)" })
  .refine((s) => !s.split("/").some((part) => part === ".." || part === "."), { error: "must not contain '.' or '..' segments" });

export const DomainSchema = z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
  error: "expected a lowercase domain name such as example.org",
});

export const HostSchema = z.string().regex(/^([a-z0-9.-]+|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\])$/i, { error: "expected a host name or IP address" });

export const PortSchema = z.int({ error: "expected a whole number between 1 and 65535" }).min(1).max(65535);

export const ModeSchema = z.string().regex(/^0[0-7]{3}$/, { error: 'expected an octal mode such as "0644"' });

export const SizeSchema = z.string().regex(/^\d+[kMG]?$/, { error: 'expected a size such as "100k", "5M" or "1G"' });

export const NginxSizeSchema = z.string().regex(/^\d+[kKmMgG]?$/, { error: 'expected an nginx size such as "4G" or "10m"' });

export const MimeTypeSchema = z.string().regex(/^[a-z]+\/[a-z0-9.+-]+$/, { error: "expected a MIME type such as text/css" });

/** A URL path prefix for an nginx location: starts and ends with "/". */
export const UrlPrefixSchema = z.string().regex(/^\/([A-Za-z0-9._-]+\/)*$/, { error: 'expected a URL prefix such as "/static/"' });

export const LogLevelSchema = z.enum(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]);

export const PositiveIntSchema = z.int({ error: "expected a whole number >= 1" }).min(1, { error: "expected a whole number >= 1" });

/**
 * A command line as argv; each word is escaped for the file format it lands in (systemd, shell). The program
 * must not start with a character systemd reads as an Exec prefix (+ runs as root, - ignores failure, ...).
 */
export const ArgvSchema = z
  .array(TextSchema.min(1))
  .min(1, { error: "expected at least the program to run" })
  .refine((argv) => /^[/.]?[A-Za-z0-9_][A-Za-z0-9_./+-]*$/.test(argv[0] ?? ""), {
    error:
      "the program must be an absolute path, a path inside the folder it runs in (.venv/bin/pip) or a plain name (letters, digits, _ . / + -), not starting with a systemd prefix such as + - @ : !",
  });

export const EnvVarNameSchema = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { error: "expected an environment variable name such as DB_PASSWORD" });

/**
 * A program and its arguments whose standard output is a secret's value (a password manager: `pass show x`, `op read
 * op://...`). Run without a shell, so each word is passed as it is written.
 */
export const SecretCommandSchema = z
  .array(TextSchema.min(1, { error: "expected a word, not an empty string" }))
  .min(1, { error: "expected at least the program to run" })
  .refine((argv) => !/^\s|\s$/.test(argv[0] ?? ""), { error: "the program's name must not start or end with a space" });

/** Where a secret comes from: never its value. `default` is for demo environments only. */
export const SecretRefSchema = z
  .strictObject({
    secret: EnvVarNameSchema,
    default: TextSchema.optional(),
    command: SecretCommandSchema.optional(),
  })
  .refine((ref) => ref.default === undefined || ref.command === undefined, {
    error: "give a secret either a command or a default, not both: a failing password manager must not fall back to a demo value",
  });
export type SecretRef = z.infer<typeof SecretRefSchema>;

export const SecretOrTextSchema = z.union([SecretRefSchema, TextSchema]);

/** A value that can be written as a Python literal: JSON-like data, plus secret references. */
export type PythonValue = string | number | boolean | null | SecretRef | PythonValue[] | { [key: string]: PythonValue };
export const PythonValueSchema: z.ZodType<PythonValue> = z.lazy(() =>
  z.union([
    SecretRefSchema,
    z.string(),
    z.number().refine(Number.isFinite, { error: "expected a finite number" }),
    z.boolean(),
    z.null(),
    z.array(PythonValueSchema),
    z.record(z.string(), PythonValueSchema),
  ]),
);

export const SettingNameSchema = z.string().regex(/^[A-Z][A-Z0-9_]*$/, { error: "Django reads only UPPERCASE setting names" });
