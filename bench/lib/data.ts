// Seeded, reproducible shard contents. Row bodies come from AES-256-CTR over zeros
// keyed by the seed: deterministic, incompressible like real payloads, and fast
// enough (GB/s) that filling a 2 GiB shard is bound by SQLite, not by the generator.
import { createCipheriv, createHash } from 'node:crypto';
import type { Cluster } from '../../store/cluster';
import type { LocalReplicator } from '../../store/local-replicator';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Row body size for bulk shards: large rows make a big file out of few frames. */
const ROW_BYTES = 64 * KiB;
/** Rows per putMany transaction: 32 MiB per commit keeps the WAL short and commits few. */
const BATCH_ROWS = 512;

export class SeededBytes {
  private readonly cipher;

  constructor(seed: string) {
    const key = createHash('sha256').update(seed).digest();
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  }

  next(bytes: number): Buffer {
    return this.cipher.update(Buffer.alloc(bytes));
  }
}

export interface GeneratedShard {
  org: string;
  ns: string;
  rows: number;
  bytes: number;
  seconds: number;
}

/** Creates shard org/ns on `node` holding about `targetBytes` of seeded rows. */
export async function generateShard(
  cluster: Cluster,
  replicator: LocalReplicator,
  spec: { org: string; ns: string; node: string; targetBytes: number; seed: string; rowBytes?: number },
): Promise<GeneratedShard> {
  const started = performance.now();
  const rowBytes = spec.rowBytes ?? ROW_BYTES;
  await cluster.createShard(spec.org, spec.ns, spec.node);
  const rng = new SeededBytes(spec.seed);
  const rows = Math.max(0, Math.round(spec.targetBytes / rowBytes));
  for (let first = 0; first < rows; first += BATCH_ROWS) {
    const count = Math.min(BATCH_ROWS, rows - first);
    const block = rng.next(count * rowBytes);
    const batch = Array.from({ length: count }, (_, i) => ({
      id: `r${String(first + i).padStart(8, '0')}`,
      title: `row ${first + i}`,
      body: block.subarray(i * rowBytes, (i + 1) * rowBytes),
    }));
    await replicator.putMany(spec.org, spec.ns, batch);
  }
  // Fold the WAL into the main file so `cp` of the main file copies the whole shard.
  const db = await cluster.openOwner(spec.org, spec.ns);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const summary = await cluster.summarize(await cluster.catalog.shard(spec.org, spec.ns));
  return { org: spec.org, ns: spec.ns, rows, bytes: summary.bytes, seconds: (performance.now() - started) / 1000 };
}
