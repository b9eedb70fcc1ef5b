// apply --yes reads each host under its lock: the lock, the leftovers of an interrupted apply and the probe go in
// one round trip, so the plan that is applied is the one read under the lock and the apply needs no second read
// (apply-plan.ts). When the lock cannot be taken at once (held by someone, or refused), the host is read as gen diff
// reads it and its apply takes the lock as a reviewed plan's does, failing the same way.
import type { Environment } from "../../schema/index.js";
import { errorMessage, GenError } from "../errors.js";
import { lockingProbeRequest, readServerState, stateFromProbe, type HostState } from "../plan/server-state.js";
import type { Accounts } from "../plan/server-probe.js";
import { leftoversStep } from "../server/applied-record.js";
import { parseLockHolder, type LockHolder } from "../server/lock-holder.js";
import { lockedRoundTrip, lockGuarding, lockOwner, releaseLock } from "../server/lock.js";
import { serverShell } from "../server/server-shell.js";
import type { Transport } from "../transport/transport.js";
import { attempt, runStep } from "../transport/typed-steps.js";
import type { FolderSpec, RenderedFile } from "../types.js";

/** A lock taken with the first read and not yet handed to the host's apply, which releases it when it ends. */
export interface HeldLock {
  /** The leftovers of an interrupted apply removed under it. */
  recovered: string[];
  /** Whose lock --force-unlock (or a dead run of this user here) replaced. */
  replaced?: string;
  /** path -> sha256 of the record read under it. */
  applied?: Record<string, string>;
  /** Whether the files' and folders' users and groups exist, read under it (preflight's check). */
  accounts?: Accounts;
  release: () => Promise<void>;
}

export interface LockedReadInput {
  env: Environment;
  /** Every rendered path (their folders are searched for leftovers). */
  managedPaths: string[];
  holder: LockHolder;
  force: boolean;
}

/**
 * The host's state, read under its lock (`held`). A lock held by someone else stops the host, as apply's own lock does
 * (a dead run of this user here is taken over). A lock this run holds already (another name of the same machine), or
 * one that cannot be taken for another reason (sudo refused), leaves the host read as gen diff reads it: its apply
 * takes the lock as a reviewed plan's does (and fails there as it would).
 */
export async function readUnderLock(
  transport: Transport,
  files: RenderedFile[],
  folders: FolderSpec[],
  input: LockedReadInput,
): Promise<{ state: HostState; held?: HeldLock }> {
  const { env } = input;
  const stateDir = env.server.stateDir;
  const shell = serverShell(transport, env);
  const owner = lockOwner(env);
  // The probe takes the lock itself (lock.ts, LockCarrier); the leftovers go once it is taken.
  const underLock = [leftoversStep(shell, stateDir, input.managedPaths)] as const;
  const probe = lockingProbeRequest(transport, files, folders, stateDir);
  const first = await runStep(shell, attempt(lockGuarding(shell, stateDir, input.holder, input.force, owner, underLock, probe)));
  const [lock, guarded] = first.ok ? first.value : [undefined, undefined];
  // Another host of this run holds it (two names for one machine): this one is read now and locked when it applies.
  const ownRun = lock && !lock.taken && heldByThisRun(lock.held, input.holder);
  if (!lock || ownRun) return { state: await readServerState(transport, files, folders, stateDir, { sudo: env.server.useSudo }) };
  // Held by someone else: the answer already read says by whom (a dead run of this user here: taken over in a second).
  const send = (force: boolean) => runStep(shell, lockGuarding(shell, stateDir, input.holder, force, owner, underLock, probe));
  const sent = await lockedRoundTrip(shell, input.holder, input.force, send, [lock, guarded!]);
  const taken = { ...(sent.replaced ? { replaced: sent.replaced } : {}), guarded: sent.rest };
  const release = () => releaseLock(shell, stateDir);
  try {
    if (!taken.guarded.ok) throw taken.guarded.error;
    const [recovered, probe] = taken.guarded.value;
    const state = await stateFromProbe(transport, files, folders, probe, { sudo: env.server.useSudo });
    const held = {
      recovered,
      ...(taken.replaced ? { replaced: taken.replaced } : {}),
      ...(state.applied ? { applied: state.applied } : {}),
      ...(state.accounts ? { accounts: state.accounts } : {}),
      release,
    };
    return { state, held };
  } catch (error) {
    const kept = await release().then(
      () => [],
      (failed: unknown) => [`gen's lock could not be released (${errorMessage(failed)}): the next apply takes it over with --force-unlock`],
    );
    if (kept.length === 0) throw error;
    throw new GenError(errorMessage(error), { cause: error, details: [...(error instanceof GenError ? error.details : []), ...kept] });
  }
}

function heldByThisRun(held: string, me: LockHolder): boolean {
  const holder = parseLockHolder(held);
  return holder?.who === me.who && holder.pid === me.pid;
}
