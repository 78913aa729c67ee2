// Moves one shard back and forth between two nodes through the MigrationClient, one
// move at a time, recording each move's Job and wall-clock window.
import type { MigrationClient } from '../client';
import type { Job, MigrationMode, MigrationRequest } from '../common/job';
import { catalogSetting } from '../common/config';
import { Cluster } from '../store/cluster';
import { nowMs } from './log';

export interface MoveRecord {
  job: Job;
  /** Epoch ms around the whole move (start request → final Job). */
  fromMs: number;
  toMs: number;
}

export interface MoveOptions {
  migrations: MigrationClient;
  dataRoot: string;
  /** TASKSD_CATALOG of the cluster (default: this process's). */
  catalog?: string;
  org: string;
  ns: string;
  /** The two nodes; each move goes from whichever owns the shard to the other. */
  nodes: [string, string];
  times: number;
  mode?: MigrationMode;
  maxPauseMs?: number;
  /** Told about each move as it ends (progress lines in a benchmark). */
  onMove?: (move: MoveRecord, index: number) => void;
}

export async function moveBackAndForth(opts: MoveOptions): Promise<MoveRecord[]> {
  const cluster = await Cluster.open(opts.dataRoot, { catalog: opts.catalog ?? catalogSetting() });
  const moves: MoveRecord[] = [];
  try {
    for (let i = 0; i < opts.times; i++) {
      const owner = (await cluster.catalog.shard(opts.org, opts.ns)).owner;
      const to = owner === opts.nodes[0] ? opts.nodes[1] : opts.nodes[0];
      const request: MigrationRequest = { org: opts.org, ns: opts.ns, to, mode: opts.mode ?? 'online' };
      if (opts.maxPauseMs !== undefined) request.maxPauseMs = opts.maxPauseMs;
      const fromMs = nowMs();
      const job = await opts.migrations.migrate(request);
      const move = { job, fromMs, toMs: nowMs() };
      moves.push(move);
      opts.onMove?.(move, i);
    }
  } finally {
    await cluster.close();
  }
  return moves;
}
