// logrotate expands its patterns with glob(3): `*` and `?` stay within one path segment and do not match a leading
// dot, `[...]` is a bracket expression (`[!...]` negates) and every other character is itself. No braces or extglobs, unlike picomatch, whose
// first compile also cost a tenth of a render's start-up.

/** A RegExp that matches exactly the paths glob(3) would match with this pattern. */
export function shellGlobRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if ((c === "*" || c === "?" || c === "[") && (i === 0 || pattern[i - 1] === "/")) source += "(?!\\.)";
    if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else if (c === "[" && bracketEnd(pattern, i) > 0) {
      const end = bracketEnd(pattern, i);
      const body = pattern.slice(i + 1, end);
      const negated = body.startsWith("!") || body.startsWith("^");
      const members = (negated ? body.slice(1) : body).replace(/[\\\]^]/g, "\\$&");
      source += negated ? `(?!/)[^${members}]` : `[${members}]`;
      i = end;
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/** Index of the `]` closing the bracket expression opened at `open`, or -1 (then `[` is literal). */
function bracketEnd(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === "!" || pattern[i] === "^") i++;
  if (pattern[i] === "]") i++;
  const end = pattern.indexOf("]", i);
  return end > 0 && !pattern.slice(open, end).includes("/") ? end : -1;
}
