// The production server of the reference deployment (tsosi.u-ga.fr).
import { defineEnvironment } from "gen";

export default defineEnvironment({
  extends: "preset:tsosi",
  description: "TSOSI production",
  // apply logs in as an administrator with passwordless sudo; the release step logs in as the deploy user
  // (deployer), which has only the sudoers rules gen writes.
  server: { host: "tsosi.u-ga.fr", sshUser: "admin", deployUser: "deployer" },
  app: {
    redirectDomains: ["www.tsosi.org", "tsosi.u-ga.fr"],
    extraAllowedHosts: ["127.0.0.1", "129.88.178.178"],
  },
});
