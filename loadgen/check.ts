// Proves docs/CONTRACT.md invariant 2 for a load run: every acknowledged write is on the shard's
// final owner, and no refused write was applied. Two views of the owner are used:
// its `changes` history (each applied frame's seq and task, carried along by every
// move) and its final rows.
//   lost:    an acknowledged write whose seq is not that task's frame in the history,
//            or a task whose final value is not its last acknowledged write.
//   phantom: a frame on a load task that no acknowledged write explains, or a final
//            value that a refused write wrote.
//
//   node --require tsx/cjs loadgen/check.ts --data ROOT --org O --ns N --log a.jsonl [--log b.jsonl ...]
// prints {"acked","refused","lost","phantom","owner"} and exits 1 if anything was lost or phantom.
import { parseArgs } from 'node:util';
import { catalogSetting } from '../common/config';
import { Cluster } from '../store/cluster';
import { openShardFile } from '../store/shard-file';
import { readLog, type WriteRecord } from './log';

export interface CheckResult {
  acked: number;
  refused: number;
  lost: number;
  phantom: number;
  owner: string;
  /** The first few problems, each naming the write or frame. */
  problems: string[];
}

const SHOWN_PROBLEMS = 10;

export async function checkWrites(input: { dataRoot: string; catalog?: string; org: string; ns: string; logs: string[] }): Promise<CheckResult> {
  const records = input.logs.flatMap(readLog);
  const acked = records.filter((r) => r.ok);
  const refused = records.filter((r) => !r.ok);
  const ids = new Set(records.map((r) => r.id));

  const cluster = await Cluster.open(input.dataRoot, { catalog: input.catalog ?? catalogSetting() });
  let owner: string;
  let frames: Map<number, { op: string; id: string }>;
  let finals: Map<string, string>;
  try {
    const resolved = await cluster.ownerFile(input.org, input.ns);
    owner = resolved.shard.owner;
    const db = openShardFile(resolved.file);
    try {
      ({ frames, finals } = db
        .transaction(() => ({
          frames: new Map(
            (db.prepare('SELECT seq, op, task_id AS id FROM changes').all() as { seq: number; op: string; id: string }[])
              .filter((f) => ids.has(f.id))
              .map((f) => [f.seq, { op: f.op, id: f.id }]),
          ),
          finals: new Map(
            [...ids].flatMap((id) => {
              const row = db.prepare('SELECT title FROM tasks WHERE id = ?').get(id) as { title: string } | undefined;
              return row ? [[id, row.title] as const] : [];
            }),
          ),
        }))
        .deferred());
    } finally {
      db.close();
    }
  } finally {
    await cluster.close();
  }

  const lost = new Set<string>();
  const phantom = new Set<string>();
  const problems: string[] = [];
  const note = (set: Set<string>, key: string, problem: string) => {
    if (set.has(key)) return;
    set.add(key);
    if (problems.length < SHOWN_PROBLEMS) problems.push(problem);
  };

  const ackedSeqs = new Set<number>();
  const lastAcked = new Map<string, WriteRecord>();
  for (const write of acked) {
    ackedSeqs.add(write.seq!);
    const frame = frames.get(write.seq!);
    if (!frame || frame.id !== write.id || frame.op !== 'put') {
      note(lost, write.value, `lost: ${write.value} (${write.id}) was acknowledged at seq ${write.seq}, which the owner's history does not hold`);
    }
    const last = lastAcked.get(write.id);
    if (!last || write.n > last.n) lastAcked.set(write.id, write);
  }
  for (const [id, write] of lastAcked) {
    const final = finals.get(id);
    if (final !== write.value) {
      note(lost, write.value, `lost: ${id} holds ${final ?? 'nothing'} on ${owner}, but its last acknowledged write was ${write.value}`);
    }
  }
  const unexplained = [...frames].filter(([seq]) => !ackedSeqs.has(seq));
  for (const [seq, frame] of unexplained) {
    note(phantom, `seq ${seq}`, `phantom: frame ${seq} (${frame.op} ${frame.id}) matches no acknowledged write`);
  }
  // Should the history miss a frame, a final value that a refused write wrote still shows it applied.
  const refusedValues = new Set(refused.map((r) => r.value));
  const flagged = new Set(unexplained.map(([, frame]) => frame.id));
  for (const [id, final] of finals) {
    if (refusedValues.has(final) && !flagged.has(id)) note(phantom, final, `phantom: ${id} holds ${final}, a write that was refused`);
  }
  return { acked: acked.length, refused: refused.length, lost: lost.size, phantom: phantom.size, owner, problems };
}

if (require.main === module) {
  (async () => {
    const { values } = parseArgs({
      options: { data: { type: 'string' }, org: { type: 'string' }, ns: { type: 'string' }, log: { type: 'string', multiple: true } },
    });
    if (!values.data || !values.org || !values.ns || !values.log?.length) throw new Error('usage: check.ts --data ROOT --org O --ns N --log FILE [--log FILE ...]');
    const result = await checkWrites({ dataRoot: values.data, org: values.org, ns: values.ns, logs: values.log });
    console.log(JSON.stringify(result));
    process.exit(result.lost === 0 && result.phantom === 0 ? 0 : 1);
  })().catch((err) => {
    console.error(`loadgen check: ${err instanceof Error ? err.message : err}`);
    process.exit(2);
  });
}
