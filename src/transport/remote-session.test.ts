import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { localChannel } from "./local-run.js";
import { remoteSession, sessionDriver, type SessionChannel } from "./remote-session.js";

/** A session over a local `sh` running the same driver as the server: what the SSH transport runs, without SSH. */
function localSession(prefix = "") {
  const opened: Array<SessionChannel & { kill: () => void }> = [];
  const session = remoteSession({
    where: "test@host:22",
    open: async (driver) => {
      const channel = await localChannel("sh", ["-c", `${prefix}${driver}`], process.env);
      opened.push(channel);
      return channel;
    },
  });
  return { session, opened };
}

const text = (b: Buffer) => b.toString("utf8");

describe("remote session", () => {
  it("runs every step of a command in one channel and answers each with its status, stdout and stderr", async () => {
    const { session, opened } = localSession();
    try {
      const [a, b] = await session.runAll([
        { name: "first", script: "echo out; echo err >&2; exit 3" },
        { name: "second", script: "printf 'no newline'" },
      ]);
      assert.deepEqual([a!.exitCode, text(a!.stdout), text(a!.stderr)], [3, "out\n", "err\n"]);
      assert.deepEqual([b!.exitCode, text(b!.stdout), text(b!.stderr)], [0, "no newline", ""]);
      const c = await session.run({ name: "third", script: "echo later" });
      assert.equal(text(c.stdout), "later\n");
      assert.equal(opened.length, 1, "one channel for the whole command");
    } finally {
      await session.close();
    }
  });

  it("a step that reads its own input takes exactly it from the session's stream, and what it leaves is passed over", { timeout: 60_000 }, async () => {
    const { session, opened } = localSession();
    try {
      const input = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 256));
      // Exactly its input: python3 reads as root_files.py does, never a byte past the size it was told.
      const exact = `exec python3 -I -S -c 'import os, sys, hashlib
n, h = ${input.length}, hashlib.sha256()
while n:
    b = os.read(0, n)
    h.update(b)
    n -= len(b)
print(h.hexdigest())'`;
      const [whole, none, half, missing, after] = await session.runAll([
        { name: "reads all", script: exact, stdin: input, readsOwnInput: true },
        { name: "reads none", script: "echo none", stdin: input, readsOwnInput: true },
        { name: "reads half", script: "head -c 100000 >/dev/null; echo half", stdin: input, readsOwnInput: true },
        { name: "not installed", script: "exec gen-no-such-program", stdin: Buffer.from("echo injected\n"), readsOwnInput: true },
        { name: "after", script: "echo after", stdin: Buffer.from("x"), readsOwnInput: true },
      ]);
      const { createHash } = await import("node:crypto");
      assert.deepEqual(
        [whole, none, half, missing, after].map((r) => [r!.exitCode, text(r!.stdout).trim()]),
        [
          [0, createHash("sha256").update(input).digest("hex")],
          [0, "none"],
          [0, "half"],
          [127, ""],
          [0, "after"],
        ],
      );
      assert.equal(opened.length, 1, "one session throughout");
    } finally {
      await session.close();
    }
  });

  it("hands a step's output on as it comes, each stream to its own step, and still answers with all of it", async () => {
    const { session } = localSession();
    const dir = await mkdtemp(join(tmpdir(), "gen-session-stream-"));
    const go = join(dir, "go");
    try {
      const seen: string[] = [];
      // The second step prints its first line, then waits for the file the test makes only once that line came:
      // without the output handed on before the step ends, it gives up (exit 9) after 20 s.
      const waits = `echo first; echo warning >&2; i=0; while [ ! -e ${go} ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done; [ -e ${go} ] || exit 9; printf second`;
      const [before, streaming, after] = await session.runAll([
        { name: "before", script: "echo not streamed", onOutput: (chunk) => seen.push(`before:${text(chunk)}`) },
        {
          name: "streaming",
          script: waits,
          onOutput: (chunk, stream) => {
            seen.push(`${stream}:${text(chunk)}`);
            if (seen.join("").includes("stdout:first")) void writeFile(go, "");
          },
        },
        { name: "after", script: "echo after" },
      ]);
      assert.equal(streaming!.exitCode, 0, "the first line came before the step ended");
      assert.equal(text(before!.stdout), "not streamed\n");
      assert.deepEqual([text(streaming!.stdout), text(streaming!.stderr)], ["first\nsecond", "warning\n"]);
      assert.equal(text(after!.stdout), "after\n");
      const streamed = (stream: string) =>
        seen
          .filter((s) => s.startsWith(`${stream}:`))
          .map((s) => s.slice(stream.length + 1))
          .join("");
      assert.equal(streamed("before"), "not streamed\n");
      assert.equal(streamed("stdout"), "first\nsecond");
      assert.equal(streamed("stderr"), "warning\n");
    } finally {
      await session.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("passes binary input and output through unchanged, whatever their size", async () => {
    const { session } = localSession();
    try {
      const input = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
      const result = await session.run({ name: "copy", script: "cat", stdin: input });
      assert.equal(result.exitCode, 0);
      assert.ok(result.stdout.equals(input));
      const empty = await session.run({ name: "no input", script: "wc -c" });
      assert.equal(text(empty.stdout).trim(), "0");
      // A large script goes by size, not line by line; its exact text arrives (leading blanks, backslashes, no final newline).
      const lines = Array.from({ length: 2000 }, (_, i) => `  x=${i}; : 'padding \\ padding padding'`);
      const large = await session.run({ name: "large", script: `${lines.join("\n")}\necho "$x"\nprintf 'end\\\\'` });
      assert.deepEqual([large.exitCode, text(large.stdout)], [0, "1999\nend\\"]);
    } finally {
      await session.close();
    }
  });

  it("answers a step with megabytes of output whole, and the step after it with its own", async () => {
    const { session } = localSession();
    try {
      const input = Buffer.from(Array.from({ length: 6_000_000 }, (_, i) => (i * 13) % 256));
      const [big, next] = await session.runAll([
        { name: "big", script: "cat; cat >&2 </dev/null", stdin: input },
        { name: "next", script: "printf after" },
      ]);
      assert.ok(big!.stdout.equals(input), `${big!.stdout.length} bytes came back for ${input.length}`);
      assert.equal(text(next!.stdout), "after");
    } finally {
      await session.close();
    }
  });

  it("skips the rest of a chain after a step fails, and runs the next step that is not chained", async () => {
    const { session } = localSession();
    try {
      const results = await session.runAll([
        { name: "one", script: "true" },
        { name: "two", script: "exit 4", afterSuccess: true },
        { name: "three", script: "echo never", afterSuccess: true },
        { name: "four", script: "echo always" },
      ]);
      assert.deepEqual(
        results.map((r) => [r.exitCode, r.skipped ?? false]),
        [
          [0, false],
          [4, false],
          [-1, true],
          [0, false],
        ],
      );
      assert.equal(text(results[3]!.stdout), "always\n");
    } finally {
      await session.close();
    }
  });

  it("runs a guarded group only when the step guarding it succeeded, whatever the group's own statuses", async () => {
    const { session } = localSession();
    try {
      const results = await session.runAll([
        { name: "lock", script: "true" },
        { name: "g1", script: "exit 1", guarded: true },
        { name: "g2", script: "echo ran", guarded: true },
        { name: "lock again", script: "exit 42" },
        { name: "g3", script: "echo never", guarded: true },
        { name: "after", script: "echo free" },
      ]);
      assert.deepEqual(
        results.map((r) => (r.skipped ? "skip" : r.exitCode)),
        [0, 1, 0, 42, "skip", 0],
      );
      assert.equal(text(results[2]!.stdout), "ran\n");
    } finally {
      await session.close();
    }
  });

  it("runs a joining step whatever the step before did, and a failure of either stops what is chained after them", async () => {
    const { session } = localSession();
    try {
      const results = await session.runAll([
        { name: "first half fails", script: "exit 3" },
        { name: "second half", script: "echo found", joins: true },
        { name: "chained", script: "echo never", afterSuccess: true },
        { name: "first half", script: "true" },
        { name: "second half fails", script: "exit 3", joins: true },
        { name: "chained", script: "echo never", afterSuccess: true },
        { name: "both pass", script: "true" },
        { name: "second passes", script: "true", joins: true },
        { name: "chained", script: "echo ran", afterSuccess: true },
        { name: "fails", script: "exit 1" },
        { name: "skipped", script: "echo never", afterSuccess: true },
        { name: "after a skipped step", script: "echo never", joins: true },
      ]);
      assert.deepEqual(
        results.map((r) => (r.skipped ? "skip" : r.exitCode)),
        [3, 0, "skip", 0, 3, "skip", 0, 0, 0, 1, "skip", "skip"],
      );
      assert.equal(text(results[1]!.stdout), "found\n");
      assert.equal(text(results[8]!.stdout), "ran\n");
    } finally {
      await session.close();
    }
  });

  it("ignores what a login script prints before the session starts", async () => {
    const { session } = localSession("echo 'Welcome!'; echo 'R 1 0'; echo 'noise' >&2; ");
    try {
      assert.equal(text((await session.run({ name: "x", script: "echo mine" })).stdout), "mine\n");
    } finally {
      await session.close();
    }
  });

  it("answers like a failed command when the session cannot start (sudo refused), and tries again on the next step", async () => {
    const refused = remoteSession({
      where: "test@host:22",
      open: () => localChannel("sh", ["-c", "echo 'sudo: a password is required' >&2; exit 1"], process.env),
    });
    const [a, b] = await refused.runAll([
      { name: "a", script: "true" },
      { name: "b", script: "true" },
    ]);
    assert.deepEqual([a!.exitCode, text(a!.stderr)], [1, "sudo: a password is required\n"]);
    assert.equal(b!.exitCode, 1);
    assert.equal((await refused.run({ name: "c", script: "true" })).exitCode, 1);
    await refused.close();
  });

  it("rejects every pending step, naming the host and the step, when the channel is lost", async () => {
    const { session, opened } = localSession();
    await session.run({ name: "started", script: "true" });
    const first = session.run({ name: "taking the lock", script: "sleep 5" });
    const second = session.run({ name: "staging the files", script: "true" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    opened[0]!.kill();
    await assert.rejects(first, /test@host:22: taking the lock ended without an exit status \(the remote shell ended with status 137\)/);
    await assert.rejects(second, /test@host:22: staging the files ended without an exit status/);
    // The next step starts a new session.
    assert.equal(text((await session.run({ name: "again", script: "echo back" })).stdout), "back\n");
    assert.equal(opened.length, 2);
    await session.close();
  });

  it("names a lost connection as such, with the reason the connection gave", async () => {
    let channel: (SessionChannel & { kill: () => void }) | undefined;
    const session = remoteSession({
      where: "test@host:22",
      open: async (driver) => {
        const real = await localChannel("sh", ["-c", driver], process.env);
        channel = real;
        // As ssh2 reports a channel whose connection dropped: closed without an exit status.
        return { ...real, onClose: (listener) => real.onClose(() => listener(undefined)) };
      },
      lostReason: () => new Error("the server ended the connection"),
    });
    await session.run({ name: "started", script: "true" });
    const pending = session.run({ name: "moving /etc/x into place", script: "sleep 5" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    channel!.kill();
    await assert.rejects(pending, (error: Error) => {
      assert.equal(error.name, "ConnectionLostError");
      assert.equal(
        error.message,
        "test@host:22: connection lost while moving /etc/x into place: it ended without an exit status (connection lost?): the server ended the connection",
      );
      return true;
    });
    await session.close();
  });

  it("rejects a step that passes its time limit, and the steps queued behind it", async () => {
    const { session } = localSession();
    const slow = session.run({ name: "restarting nginx", script: "sleep 5", timeoutMs: 50 });
    const next = session.run({ name: "writing the record", script: "true" });
    await assert.rejects(slow, /test@host:22: restarting nginx did not finish within 0\.05 s/);
    await assert.rejects(next, /writing the record was not run: restarting nginx timed out/);
    await session.close();
  });

  it("keeps the token that frames the records off the command line: it comes on the session's input", async () => {
    const drivers: string[] = [];
    const session = remoteSession({
      where: "test@host:22",
      open: (driver) => {
        drivers.push(driver);
        return localChannel("sh", ["-c", driver], process.env);
      },
    });
    try {
      // A step sees the driver's variables: the token the records are framed with.
      const token = text((await session.run({ name: "token", script: `printf '%s' "$tok"` })).stdout);
      assert.match(token, /^gen-[0-9a-f]{32}$/);
      assert.equal(drivers.length, 1);
      assert.ok(!drivers[0]!.includes(token), "the token is in the command line");
    } finally {
      await session.close();
    }
  });

  it("hands a step its input through a pipe and writes none of it to disk, even when the session is killed during the step", async () => {
    const scratch = await mkdtemp(join(tmpdir(), "gen-session-tmp-"));
    const opened: Array<SessionChannel & { kill: () => void }> = [];
    const session = remoteSession({
      where: "test@host:22",
      open: async (driver) => {
        const channel = await localChannel("sh", ["-c", driver], { ...process.env, TMPDIR: scratch });
        opened.push(channel);
        return channel;
      },
    });
    try {
      const input = `SECRET_KEY = '${"s".repeat(100_000)}'\n`;
      const copied = await session.run({ name: "copy", script: `[ -p /dev/stdin ] && wc -c`, stdin: input });
      assert.deepEqual([copied.exitCode, text(copied.stdout).trim()], [0, String(input.length)]);
      const pending = session.run({ name: "slow", script: "read -r first; sleep 5", stdin: input });
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(await readdir(scratch), []);
      opened[0]!.kill();
      await assert.rejects(pending);
      assert.deepEqual(await readdir(scratch), []);
    } finally {
      await session.close();
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it("drains the input a step leaves unread, also of a skipped step, so the next step is read where it starts", async () => {
    const { session } = localSession();
    try {
      const noNewline = Buffer.alloc(200_000, 0x41);
      const results = await session.runAll([
        { name: "ignores its input", script: "true", stdin: `line one\nline two\n${"x".repeat(70_000)}` },
        { name: "reads one line", script: "read -r first; printf '%s' \"$first\"", stdin: "first\nsecond\n" },
        { name: "ignores input without a newline", script: "exit 3", stdin: noNewline },
        { name: "skipped, with input", script: "echo never", stdin: "echo injected\n", afterSuccess: true },
        { name: "after", script: "cat", stdin: "last" },
      ]);
      assert.deepEqual(
        results.map((r) => [r.skipped ? "skip" : r.exitCode, text(r.stdout)]),
        [
          [0, ""],
          [0, "first"],
          [3, ""],
          ["skip", ""],
          [0, "last"],
        ],
      );
    } finally {
      await session.close();
    }
  });

  it("fails cleanly when the channel cannot be opened", async () => {
    const session = remoteSession({ where: "test@host:22", open: () => Promise.reject(new Error("channel open failure")) });
    await assert.rejects(session.run({ name: "probe", script: "true" }), /test@host:22: cannot start the remote session: channel open failure/);
  });
});

describe("a script the session's input cut short", () => {
  /** The driver given `frame` and then the end of its input, as when a connection drops while a step is sent. */
  async function cutAfter(frame: string): Promise<number | undefined> {
    const channel = await localChannel("sh", ["-c", sessionDriver()], process.env);
    const closed = new Promise<number | undefined>((resolve) => channel.onClose(resolve));
    channel.write(Buffer.from(`gen-test-token\n${frame}`));
    channel.end();
    return closed;
  }

  for (const [mode, frame] of [
    ["sent by size", (marker: string) => `1 a B 4000 0\n: ${"x".repeat(100)}\ntouch ${marker}\n`],
    ["sent by lines", (marker: string) => `1 a L 3 0\ntouch ${marker}\necho two\n`],
  ] as const) {
    it(`is not run (${mode}): the session ends without a step`, async () => {
      const dir = await mkdtemp(join(tmpdir(), "gen-cut-script-"));
      try {
        const marker = join(dir, "ran");
        assert.equal(await cutAfter(frame(marker)), 95);
        assert.deepEqual(await readdir(dir), [], "the part of the script that came was run");
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
