import type { GenCommand } from "../command.js";

export const schemaCommand: GenCommand<object> = {
  command: "schema",
  describe: "Print the JSON Schema of an environment (for editors checking YAML or JSON environments)",
  builder: (yargs) => yargs as never,
  examples: [["gen schema > environment.schema.json", "then point your editor's YAML plugin at it"]],
  async run(_argv, output) {
    const { environmentJsonSchema } = await import("../../../schema/json-schema.js");
    output.verbatim(JSON.stringify(environmentJsonSchema(), null, 2));
    return 0;
  },
};
