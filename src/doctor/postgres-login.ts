// What gen doctor needs to log in to PostgreSQL as Django will: the environment's host, database, user and password
// (secret values, read only here and only for this check), and the fixes its answers call for. The values go to the
// server program on its standard input; the spec (argv, README) only names them.
import { join } from "node:path";
import type { Environment, SecretRef } from "../../schema/index.js";
import type { LoadedEnvironment } from "../load/load-environment.js";
import { resolveSomeSecrets } from "../load/load-environment.js";
import { display } from "../load/read-definition.js";
import { findSecretReferences, isSecretRef, placeholder } from "../secrets/index.js";

type Postgres = NonNullable<Environment["postgres"]>;

export interface PostgresLogin {
  host: string;
  user: string;
  database: string;
  password: string;
}

/** Why the login is not checked (a secret it needs is not set) and how to make it checkable. */
export interface LoginSkip {
  reason: string;
  fix: string;
}

export type LoginValues = { login: PostgresLogin; secrets: Map<string, string> } | { skip: LoginSkip };

/** How a value appears in messages: a secret as its placeholder, as the redactor shows it. */
export const shownValue = (value: string | SecretRef) => (isSecretRef(value) ? placeholder(value) : value);

/** undefined when the environment has no PostgreSQL (postgres: null): there is no login to check. */
export async function postgresLoginValues(loaded: LoadedEnvironment, processEnv: NodeJS.ProcessEnv = process.env): Promise<LoginValues | undefined> {
  const postgres = loaded.environment.postgres;
  if (postgres === null) return undefined;
  const references = findSecretReferences(postgres, ["postgres"]);
  const resolved = await resolveSomeSecrets(loaded, references, processEnv);
  if ("missing" in resolved) {
    const unset = references.filter((r) => resolved.missing.some((line) => line.startsWith(`${r.field}: `)));
    const names = unset.map((r) => r.ref.secret).filter((name, i, all) => all.indexOf(name) === i);
    const secretsFile = display(join(loaded.environmentsDir, `${loaded.name}.secrets.env`));
    return {
      skip: {
        reason: resolved.missing.map((line) => line.replace(/[:;] export .*$/, "")).join("; "),
        fix: `set ${names.join(" and ")} to check the login (export ${names[0]}=... or add it to ${secretsFile})`,
      },
    };
  }
  const value = (field: string | SecretRef) => (isSecretRef(field) ? resolved.values.lookup(field) : field);
  return {
    login: { host: value(postgres.host), user: value(postgres.user), database: value(postgres.name), password: value(postgres.password) },
    secrets: resolved.values.values,
  };
}

/** The fixes for each way the login can fail; `{cidr}` is filled in on the server with the address it connects from. */
export function postgresLoginFixes(postgres: Postgres) {
  const user = shownValue(postgres.user);
  const database = shownValue(postgres.name);
  const hbaFile = "pg_hba.conf (sudo -u postgres psql -c 'SHOW hba_file')";
  return {
    password: `sudo -u postgres psql -c '\\password ${user}' (type the value of ${postgres.password.secret}; a role that does not exist: sudo -u postgres createuser --pwprompt ${user})`,
    database: `sudo -u postgres createdb --owner ${user} ${database}`,
    hba: `add "host ${database} ${user} {cidr} scram-sha-256" to ${hbaFile} above any other line that matches, then sudo systemctl reload postgresql`,
    method: `set the method of ${user}'s line in ${hbaFile} to scram-sha-256, then sudo systemctl reload postgresql`,
    log: "read why in the PostgreSQL server's log (sudo journalctl -u postgresql, or /var/log/postgresql/)",
    ssl: "check ssl_cert_file and ssl_key_file in postgresql.conf (sudo -u postgres psql -c 'SHOW config_file'), or set ssl = off, then sudo systemctl reload postgresql",
  };
}
