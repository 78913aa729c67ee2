// The bench's shards, generated once per size from a fixed seed and shared by the
// figures that need that size (a move leaves the shard on the other node, so the
// next move simply takes it back).
import type { BenchEnv } from './env';
import { NODES } from './env';
import { generateShard, type GeneratedShard } from './data';

export interface ShardRef {
  org: string;
  ns: string;
}

export class ShardPool {
  readonly generated: GeneratedShard[] = [];
  private readonly byLabel = new Map<string, ShardRef>();

  constructor(private readonly env: BenchEnv) {}

  async ofSize(bytes: number, label: string): Promise<ShardRef> {
    const known = this.byLabel.get(label);
    if (known) return known;
    const ref = { org: 'bench', ns: `s-${label.toLowerCase().replace(/[^a-z0-9]+/g, '')}` };
    const made = await generateShard(this.env.cluster, this.env.replicator, { ...ref, node: NODES[0], targetBytes: bytes, seed: `tasksd-bench-${label}` });
    this.generated.push(made);
    console.log(`  generated ${label} shard: ${made.rows} rows, ${(made.bytes / 2 ** 20).toFixed(1)} MiB in ${made.seconds.toFixed(1)} s`);
    this.byLabel.set(label, ref);
    return ref;
  }

  /** The node the shard should move to next: whichever one does not own it. */
  async destination(ref: ShardRef): Promise<string> {
    const owner = (await this.env.cluster.catalog.shard(ref.org, ref.ns)).owner;
    return owner === NODES[0] ? NODES[1] : NODES[0];
  }

  async ownerFile(ref: ShardRef): Promise<string> {
    return (await this.env.cluster.ownerFile(ref.org, ref.ns)).file;
  }
}
