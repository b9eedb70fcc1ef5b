// What gen doctor needs to name a fix for app.pythonVersion that exists on the server's distribution. The server
// program asks apt-cache first: it knows the sources the server really has (security, backports, a PPA) and
// distributions this table does not. The table answers when apt cannot (its package lists are empty until the first
// `apt-get update`, or there is no apt): the Python 3 of each release, the only one its archive has.
export interface DistributionPython {
  id: string;
  versionId: string;
  codename: string;
  name: string;
  python: string;
}

export const DISTRIBUTION_PYTHONS: DistributionPython[] = [
  { id: "debian", versionId: "11", codename: "bullseye", name: "Debian 11", python: "3.9" },
  { id: "debian", versionId: "12", codename: "bookworm", name: "Debian 12", python: "3.11" },
  { id: "debian", versionId: "13", codename: "trixie", name: "Debian 13", python: "3.13" },
  { id: "ubuntu", versionId: "22.04", codename: "jammy", name: "Ubuntu 22.04", python: "3.10" },
  { id: "ubuntu", versionId: "24.04", codename: "noble", name: "Ubuntu 24.04", python: "3.12" },
];

/** `root`: the server's "/" as commands see it (a root prefix in tests): apt-cache reads its lists there too. */
export function pythonSpec(version: string, root: string) {
  const prefix = root.replace(/\/+$/, "");
  const python = `python${version}`;
  return {
    version,
    packages: [python, `${python}-venv`],
    osRelease: ["/etc/os-release", "/usr/lib/os-release"].map((path) => `${prefix}${path}`),
    apt: prefix === "" ? ["apt-cache"] : ["apt-cache", "-o", `Dir=${prefix}/`],
    distributions: DISTRIBUTION_PYTHONS,
    fix: `sudo apt-get install ${python} ${python}-venv`,
  };
}

export type PythonSpec = ReturnType<typeof pythonSpec>;
