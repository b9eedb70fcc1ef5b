// A server's output as whole lines, for printing as human text: chunks decoded as UTF-8 (a character split between
// two chunks stays whole) and cut at each line end; what is left when the output ends is a line too.
import { StringDecoder } from "node:string_decoder";

export interface LineStream {
  write: (chunk: Buffer) => void;
  end: () => void;
}

/** `carriageReturn`: a carriage return ends a line too (a tool's progress line shown as lines, not drawn over itself). */
export function lineStream(onLine: (line: string) => void, options: { carriageReturn?: boolean } = {}): LineStream {
  const decoder = new StringDecoder("utf8");
  const cut = options.carriageReturn ? /\r\n|\r|\n/ : /\n/;
  let pending = "";
  const take = (text: string) => {
    pending += text;
    const lines = pending.split(cut);
    pending = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  };
  return {
    write: (chunk) => take(decoder.write(chunk)),
    end: () => {
      take(decoder.end());
      if (pending !== "") onLine(pending);
      pending = "";
    },
  };
}
