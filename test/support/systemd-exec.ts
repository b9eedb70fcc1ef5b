// A model of how systemd 252 reads an Exec*= value (config_parse_exec), for tests that check what a
// rendered command line means to systemd.
// systemd's reading of an Exec*= value (config_parse_exec, systemd 252): words split on blanks with '' and ""
// quotes anywhere in a word and C escapes; the first word's leading -@:+!| are prefixes; then %-specifiers per word;
// $ is expanded at exec time.
export function systemdExecArgv(value: string): string[] {
  const blank = (c: string | undefined) => c === " " || c === "\t";
  const words: string[] = [];
  let i = 0;
  for (;;) {
    while (blank(value[i])) i++;
    if (i >= value.length) break;
    if (value[i] === ";" && (i + 1 === value.length || blank(value[i + 1]))) throw new Error("a lone ; starts a second command");
    let word = "";
    while (i < value.length && !blank(value[i])) {
      const c = value[i]!;
      if (c === '"' || c === "'") {
        i++;
        while (i < value.length && value[i] !== c) {
          if (value[i] === "\\") [word, i] = [word + unescapeAt(value, i), i + 2];
          else word += value[i++];
        }
        if (i >= value.length) throw new Error(`unbalanced ${c}`);
        i++;
      } else if (c === "\\") [word, i] = [word + unescapeAt(value, i), i + 2];
      else [word, i] = [word + c, i + 1];
    }
    words.push(word);
  }
  if (words[0] !== undefined && /^[-@:+!|]/.test(words[0])) throw new Error(`systemd reads the start of ${JSON.stringify(words[0])} as an Exec prefix`);
  return words.map((w) => expandDollars(expandSpecifiers(w)));
}

function unescapeAt(value: string, i: number): string {
  const next = value[i + 1];
  const simple: Record<string, string> = { "\\": "\\", '"': '"', "'": "'", n: "\n", t: "\t", s: " ", r: "\r" };
  if (next !== undefined && next in simple) return simple[next]!;
  throw new Error(`escape \\${next ?? ""} is not one gen writes`);
}

function expandSpecifiers(word: string): string {
  return word.replace(/%(.?)/gs, (_m, c: string) => {
    if (c === "%") return "%";
    throw new Error(`systemd would expand the specifier %${c} in ${JSON.stringify(word)}`);
  });
}

function expandDollars(word: string): string {
  if (/^\$[A-Za-z_][A-Za-z0-9_]*$/.test(word)) throw new Error(`systemd would replace the variable ${word}`);
  return word.replace(/\$(.?)/gs, (_m, c: string) => {
    if (c === "$") return "$";
    if (c === "{") throw new Error(`systemd would expand \${...} in ${JSON.stringify(word)}`);
    return `$${c}`;
  });
}
