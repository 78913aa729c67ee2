// The end of a move, either way, shared by migrateShard and the reconciler:
//   hand-off — flip the owner in the catalog (the commit point: one compare-and-set
//              that bumps the epoch), unlock the new owner at that epoch, retire the
//              old file, release the claim;
//   rollback — before the flip: discard the destination's copy, lift the source's
//              lock, release the claim. After the flip a rollback finishes the
//              hand-off instead: a committed move is never undone.
// Both run to the end even when the job is cancelled, and every step is idempotent, so
// a crash anywhere is finished by running them again.
import { ApplicationFailure, CancellationScope } from '@temporalio/workflow';
import type { JobRef } from '../activities';
import type { Route } from './route';

export interface HandOffOutcome {
  /** When the new owner accepted writes again: the end of the write pause. */
  unlockedAt: number;
  changes: string[];
}

export function handOff(ref: JobRef, route: Route): Promise<HandOffOutcome> {
  return CancellationScope.nonCancellable(async () => {
    const { epoch } = await route.coordinator.handOff.executeWithOptions(
      { summary: `commit: ${shard(ref)} belongs to ${ref.to} (catalog compare-and-set, new epoch)` },
      [ref],
    );
    const { unlockedAt, changes } = await route.newOwner.step.unlock.executeWithOptions(
      { summary: `${ref.to} takes ${shard(ref)} at epoch ${epoch} and accepts writes` },
      [ref, epoch],
    );
    const retired = await route.source.step.retire.executeWithOptions({ summary: `${ref.from} retires its old copy of ${shard(ref)}` }, [ref]);
    const released = await route.coordinator.release.executeWithOptions({ summary: `release the claim on ${shard(ref)}` }, [ref]);
    return { unlockedAt, changes: [...changes, ...retired.changes, ...released.changes] };
  });
}

export interface RollbackOutcome {
  outcome: 'rolled-back' | 'already-released';
  changes: string[];
}

/**
 * The source is unlocked first, so writes resume before anything else is tidied; a
 * destination already known to be gone is not waited for (its sweep removes its
 * leftovers when it returns).
 */
export function rollBack(ref: JobRef, route: Route, { destinationGone = false } = {}): Promise<RollbackOutcome> {
  return CancellationScope.nonCancellable(async () => {
    const { owner } = await route.coordinator.ownerOf(ref);
    if (owner === ref.to) return { outcome: 'already-released' as const, changes: (await handOff(ref, route)).changes };
    const changes: string[] = [];
    changes.push(...(await route.source.step.unlockInPlace.executeWithOptions({ summary: `lift the lock on ${shard(ref)} on ${ref.from}` }, [ref])).changes);
    if (ref.to && destinationGone) changes.push(`node ${ref.to} is gone; it removes its copy of ${shard(ref)} itself when it returns`);
    else if (ref.to) changes.push(...(await discardCopy(ref, route)));
    changes.push(...(await route.coordinator.release.executeWithOptions({ summary: `release the claim on ${shard(ref)}` }, [ref])).changes);
    return { outcome: 'rolled-back' as const, changes };
  });
}

/** A destination that is gone leaves its leftovers to its own sweep when it returns. */
async function discardCopy(ref: JobRef, route: Route): Promise<string[]> {
  try {
    return (await route.destination.step.discardCopy.executeWithOptions({ summary: `remove ${ref.to}'s copy of ${shard(ref)}` }, [ref])).changes;
  } catch (err) {
    if (!timedOut(err)) throw err;
    return [`node ${ref.to} did not answer; it removes its copy of ${shard(ref)} itself when it returns`];
  }
}

function timedOut(err: unknown): boolean {
  let current = err as { name?: string; cause?: unknown } | undefined;
  while (current) {
    if (current.name === 'TimeoutFailure') return true;
    if (current instanceof ApplicationFailure) return false;
    current = current.cause as typeof current;
  }
  return false;
}

export function shard(ref: { org: string; ns: string }): string {
  return `${ref.org}/${ref.ns}`;
}
