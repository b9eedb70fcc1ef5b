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
  // TSOSI_TO_INGEST_DIR is paths.toIngest (default /home/deployer/tsosi_to_ingest); set paths.toIngest here if the
  // server's settings_local.py names another folder. If production fetches from SciPost, add its credentials as
  // secrets so settings_local.py keeps them:
  //   django: { settings: { TSOSI_SCIPOST_AUTH: { username: secret("SCIPOST_USERNAME"), password: secret("SCIPOST_PASSWORD"),
  //     client_id: secret("SCIPOST_CLIENT_ID"), client_secret: secret("SCIPOST_CLIENT_SECRET") } } },
});
