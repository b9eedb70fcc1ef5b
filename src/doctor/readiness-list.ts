// The README's "before the first apply" list, made from the same spec `gen doctor` sends to the server, so the
// list and the checks cannot drift apart (src/doctor/readiness-list.test.ts compares the README with it).
import type { DoctorSpec } from "./doctor-checks.js";

const code = (text: string) => `\`${text}\``;

export function readinessList(spec: DoctorSpec): string[] {
  const { socket, journal, python, poetry, postgres, redis, disk, sudo } = spec;
  return [
    ...spec.users.map((u) => `- user ${code(u.name)} exists (${u.role}): ${code(u.fix)}`),
    ...spec.groups.map((g) => `- group ${code(g.name)} exists (${g.role}): ${code(g.fix)}`),
    ...(socket
      ? [
          `- the release user ${code(socket.user)} is in group ${code(socket.group)} (gunicorn.socketGroup): each deploy's smoke check connects as ${socket.user} to the Gunicorn socket ${code(socket.socket)} (${socket.owner}:${socket.group} ${socket.shownMode}): ${code(socket.fix)}`,
        ]
      : []),
    `- the release user ${code(journal.user)} is in one of the groups ${journal.groups.map(code).join(", ")}, or a warning (only ${code("gen logs")} needs it: it reads the units' journal as that user, never through sudo): ${code(journal.fix)}`,
    ...spec.units.map((u) => `- unit ${code(u.unit)} is installed (server.systemServices): ${code(u.fix)}`),
    `- ${code(`python${python.version}`)} is on the deploy user's PATH (app.pythonVersion): ${code(python.fix)} where the server's distribution has them (as ${code("apt-cache policy")} says; without package lists: ${python.distributions.map((d) => `${d.name} has ${d.python}`).join(", ")}); elsewhere the fix is to set app.pythonVersion to the distribution's Python`,
    ...(poetry
      ? [
          `- Poetry is at ${code(poetry.shown)} (app.poetry): ${code(poetry.fix)}`,
          `- Poetry makes each release's virtualenv inside it (${code("virtualenvs.in-project")} is true for ${poetry.user}): ${code(poetry.inProjectFix)}`,
        ]
      : []),
    ...(postgres
      ? [
          `- PostgreSQL answers on ${code(`${postgres.shownHost}:${postgres.port}`)} (postgres.host, postgres.port): ${code(postgres.fix)}`,
          `- ${code(postgres.shownUser)} logs in there to the database ${code(postgres.shownDatabase)} with the password ${code(postgres.passwordSecret)} (postgres.user, postgres.name, postgres.password; md5 or SCRAM-SHA-256, over SSL when the server offers it): ${code(postgres.fixes.password)}; a missing database: ${code(postgres.fixes.database)}`,
        ]
      : []),
    ...(redis
      ? [`- Redis answers ${code("PING")} with ${code("+PONG")} on ${code(`${redis.host}:${redis.port}`)} (redis.host, redis.port): ${code(redis.fix)}`]
      : []),
    ...spec.certificates.map((c) => `- ${code(c.shown)} exists (nginx.tls): ${code(c.fix)}`),
    `- at least ${disk.minFreeMb} MiB are free for ${code(disk.shown)} (paths.releases; ${code("--min-free-mb")}): ${code(disk.fix)}`,
    `- ${code("sudo -n -l")} as ${code(sudo.user)} lists exactly the ${sudo.commands.length} commands of the drop-in ${code(sudo.dropIn)}, none missing, none more (before the first apply, while the drop-in is not installed: none but those, and ${code(sudo.user)} in none of the groups ${sudo.adminGroups.map((g) => code(g.name)).join(", ")}): ${code(sudo.missingFix)} (more: remove them with ${code("sudo visudo")})`,
  ];
}
