import type { GenCommand } from "../command.js";

export const schemaCommand: GenCommand<object> = {
  command: "schema",
  describe: "Print the JSON Schema of an environment (for editors checking YAML or JSON environments)",
  builder: (yargs) => yargs as never,
  async run(_argv, output) {
    const { z } = await import("zod");
    const { EnvironmentInputSchema } = await import("../../../schema/index.js");
    const schema = z.toJSONSchema(EnvironmentInputSchema, { io: "input", unrepresentable: "any" });
    const withExtends = { ...schema, properties: { ...(schema.properties as object), extends: { type: "string", description: "name of the environment this one overrides" } } };
    output.out(JSON.stringify(withExtends, null, 2));
    return 0;
  },
};
