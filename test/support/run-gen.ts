// Runs the gen command line in-process through the real yargs parser and collects what it prints,
// without colours, as the tests compare it.
import { stripVTControlCharacters } from "node:util";
import { runCli } from "../../src/cli/run-cli.js";

export interface GenRun {
  code: number;
  out: string;
  err: string;
  /** stdout and stderr together, in order. */
  all: string;
  seconds: number;
}

export async function runGen(args: string[]): Promise<GenRun> {
  const out: string[] = [];
  const err: string[] = [];
  const all: string[] = [];
  const collect = (stream: string[]) => (text: string) => {
    const plain = stripVTControlCharacters(text);
    stream.push(plain);
    all.push(plain);
  };
  const started = performance.now();
  const code = await runCli(args, { out: collect(out), err: collect(err) });
  return { code, out: out.join("\n"), err: err.join("\n"), all: all.join("\n"), seconds: (performance.now() - started) / 1000 };
}
