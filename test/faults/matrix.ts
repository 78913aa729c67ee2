// The kill matrix's cells and its report. A cell is one move parked at one fault point
// (faults/) when one process of the cluster is SIGKILLed and started again: every point
// a move passes — in the coordinator, the source agent and the destination agent,
// inside the install, the hand-off and the rollback — × offline/online × which of the
// three processes dies. The report prints the matrix with its counts and renders the
// README's table of what the matrix proved.
import { INSIDE_POINTS, type FaultPointName, type InsidePoint } from '../../faults';

export type Role = 'coordinator' | 'source' | 'destination';
export type Mode = 'offline' | 'online';
export type Kind = 'move' | 'rollback';

export const ROLES: Role[] = ['coordinator', 'source', 'destination'];
export const MODES: Mode[] = ['offline', 'online'];

export interface PointSpec {
  point: FaultPointName;
  /** The process that reaches the point. */
  holder: Role;
  kind: Kind;
  /** Only online moves pass it (the catch-up). */
  onlineOnly?: boolean;
}

/** A step's points in the order it passes them: before, those inside it (INSIDE_POINTS), after. */
const around = (activity: string, holder: Role, kind: Kind, { onlineOnly = false, inside = [] as InsidePoint[] } = {}): PointSpec[] =>
  [`${activity}:before`, ...inside, `${activity}:after`].map((point) => ({ point: point as FaultPointName, holder, kind, onlineOnly }));

/** Every point a move passes, in the order an offline move does (online: copy, catch-up, then lock). */
export const MOVE_POINTS: PointSpec[] = [
  ...around('inspectSource', 'source', 'move'),
  ...around('checkDestination', 'destination', 'move'),
  ...around('claim', 'coordinator', 'move'),
  ...around('lock', 'source', 'move'),
  ...around('pinSnapshot', 'source', 'move'),
  ...around('checkpointAndCopy', 'destination', 'move', { inside: ['install:after-rename', 'checkpointAndCopy:after-install'] }),
  ...around('catchUp', 'destination', 'move', { onlineOnly: true }),
  ...around('replay', 'destination', 'move'),
  ...around('handOff', 'coordinator', 'move'),
  ...around('unlock', 'destination', 'move', { inside: ['unlock:after-release'] }),
  ...around('retire', 'source', 'move', { inside: ['retire:after-mark'] }),
  ...around('release', 'coordinator', 'move'),
];

/**
 * A rollback is reached by cancelling the move once its copy is installed on the
 * destination (the most there is to undo); each cell then parks at one rollback point.
 */
export const ROLLBACK_TRIGGER: FaultPointName = 'checkpointAndCopy:after-install';

export const ROLLBACK_POINTS: PointSpec[] = [
  ...around('ownerOf', 'coordinator', 'rollback'),
  ...around('unlockInPlace', 'source', 'rollback', { inside: ['unlockInPlace:after-unlock'] }),
  ...around('discardCopy', 'destination', 'rollback', { inside: ['discardCopy:after-remove'] }),
  ...around('release', 'coordinator', 'rollback'),
];

export function pointsFor(mode: Mode): PointSpec[] {
  return [...MOVE_POINTS, ...ROLLBACK_POINTS].filter((p) => mode === 'online' || !p.onlineOnly);
}

/** What one cell proved. */
export interface CellResult {
  spec: PointSpec;
  mode: Mode;
  victim: Role;
  jobId: string;
  /** released, or rolled back (the job failed as cancelled). */
  outcome: 'released' | 'rolled back' | string;
  acked: number;
  refused: number;
  lost: number;
  phantom: number;
  /** Every invariant that did not hold; empty when the cell passed. */
  problems: string[];
}

const key = (spec: PointSpec) => `${spec.kind}:${spec.point}`;
const ROLE_LABEL: Record<Role, string> = { coordinator: 'coordinator', source: 'source agent', destination: 'destination agent' };

/** The matrix as the test prints it: one row per point, a column per mode × killed process, with counts. */
export function printMatrix(results: CellResult[]): string {
  const specs = [...MOVE_POINTS, ...ROLLBACK_POINTS];
  const columns = MODES.flatMap((mode) => ROLES.map((victim) => ({ mode, victim })));
  const header = ['point (where it runs)', ...columns.map((c) => `${c.mode}/${c.victim.slice(0, 5)} killed`)];
  const rows = specs.map((spec) => [
    `${spec.kind === 'rollback' ? 'rollback ' : ''}${spec.point} (${spec.holder})`,
    ...columns.map(({ mode, victim }) => {
      const cell = results.find((r) => key(r.spec) === key(spec) && r.mode === mode && r.victim === victim);
      if (!cell) return spec.onlineOnly && mode === 'offline' ? 'n/a' : 'not run';
      const mark = cell.problems.length === 0 ? 'ok' : 'FAIL';
      return `${mark} ${cell.acked}/${cell.refused}${cell.lost || cell.phantom ? ` L${cell.lost} P${cell.phantom}` : ''}`;
    }),
  ]);
  const widths = header.map((_, i) => Math.max(header[i].length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ');
  const totals = results.reduce((t, r) => ({ acked: t.acked + r.acked, refused: t.refused + r.refused, lost: t.lost + r.lost, phantom: t.phantom + r.phantom }), { acked: 0, refused: 0, lost: 0, phantom: 0 });
  const failed = results.filter((r) => r.problems.length > 0).length;
  return [
    'kill matrix (cell: ok|FAIL acknowledged/refused writes checked; L/P lost/phantom when any)',
    line(header),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...rows.map(line),
    `${results.length} cells, ${failed} failed; writes checked: ${totals.acked} acknowledged (${totals.lost} lost), ${totals.refused} refused (${totals.phantom} applied)`,
  ].join('\n');
}

/** What the README says the matrix proved: one row per point, a column per killed process. */
export function readmeTable(results: CellResult[]): string {
  const specs = [...MOVE_POINTS, ...ROLLBACK_POINTS];
  const lines = [
    '| step | point | runs on | ' + ROLES.map((r) => `${ROLE_LABEL[r]} killed`).join(' | ') + ' |',
    '|---|---|---|---|---|---|',
  ];
  for (const spec of specs) {
    const [step, where] = spec.point.split(':');
    const described =
      spec.point in INSIDE_POINTS
        ? INSIDE_POINTS[spec.point as keyof typeof INSIDE_POINTS]
        : where === 'before'
          ? 'taken by its process, nothing done yet'
          : 'its work done, not yet reported';
    const cells = ROLES.map((victim) => {
      const proved = MODES.map((mode) => results.find((r) => key(r.spec) === key(spec) && r.mode === mode && r.victim === victim)).filter(
        (r): r is CellResult => !!r && r.problems.length === 0,
      );
      if (proved.length === 0) return 'not proved';
      const outcomes = [...new Set(proved.map((r) => r.outcome))].join(' / ');
      return `${outcomes} (${proved.map((r) => r.mode).join(', ')})`;
    });
    lines.push(`| ${spec.kind === 'rollback' ? `rollback: ${step}` : step} | ${described} | ${ROLE_LABEL[spec.holder]} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export const README_START = '<!-- kill-matrix:start — generated by `npm run test:faults` (TASKSD_UPDATE_README=1); do not edit by hand -->';
export const README_END = '<!-- kill-matrix:end -->';

/** The README with its kill-matrix section replaced by `table`. */
export function withReadmeTable(readme: string, table: string): string {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) throw new Error(`README.md has no kill-matrix section (${README_START} … ${README_END})`);
  return `${readme.slice(0, start + README_START.length)}\n${table}\n${readme.slice(end)}`;
}
