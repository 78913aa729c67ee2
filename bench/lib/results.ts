// The shape of one bench run's results (results.json), shared by the runner and the
// reports made from it.
import type { AgentsRun } from '../suites/agents';
import type { CopyRun } from '../suites/copy';
import type { FleetRun } from '../suites/fleet';
import type { FootprintRun } from '../suites/footprint';
import type { MemoryRun } from '../suites/memory';
import type { OrchestrationRun } from '../suites/orchestration';
import type { PauseRun } from '../suites/pause';
import type { GeneratedShard } from './data';
import type { MachineInfo } from './machine';

export interface BenchResults {
  mode: 'quick' | 'full';
  startedAt: string;
  seconds: number;
  machine: MachineInfo;
  /** How long the seeded shards took to generate. */
  generated: GeneratedShard[];
  /** What this mode left out or shrank, said in the report. */
  notes: string[];
  copy?: CopyRun[];
  pause?: PauseRun;
  orchestration?: OrchestrationRun;
  fleet?: FleetRun;
  memory?: MemoryRun;
  agents?: AgentsRun;
  footprint?: FootprintRun;
}

export const TARGETS = {
  moveOverCp: 1.25,
  onlinePauseP99Ms: 250,
  workerPeakBytes: 200 * 2 ** 20,
};
