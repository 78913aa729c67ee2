// What the numbers were measured on: printed with every result, since absolute
// times only mean something next to the machine (and ratios next to the disk).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import Database from 'better-sqlite3';
import { temporalCliPath } from '../../temporal/cli-binary';

export interface MachineInfo {
  nproc: number;
  cpu: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  sqlite: string;
  temporalCli: string;
  disk: string;
  /** The product measured: its commit, and whether the work tree had changes on top. */
  product: string;
}

export function describeMachine(scratchDir: string): MachineInfo {
  const db = new Database(':memory:');
  const sqlite = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  db.close();
  return {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    sqlite,
    temporalCli: run(temporalCliPath(), ['--version']),
    disk: describeDisk(scratchDir),
    product: run('git', ['-C', scratchDir, 'describe', '--always', '--dirty']),
  };
}

/** Device, filesystem, mount options and whether it spins, for the directory the shards live in. */
function describeDisk(dir: string): string {
  const df = run('df', ['-P', '-T', dir]).split('\n')[1]?.split(/\s+/) ?? [];
  const [device, fsType, blocks] = df;
  const mount = df[6];
  const options = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[1] === mount)?.[3] ?? '';
  const block = device?.replace('/dev/', '').replace(/\d+$/, '');
  let kind = '';
  try {
    kind = fs.readFileSync(`/sys/block/${block}/queue/rotational`, 'utf8').trim() === '0' ? 'non-rotational' : 'rotational';
  } catch {
    kind = 'unknown medium';
  }
  const sizeGiB = Math.round(Number(blocks) / 1024 / 1024);
  return `${device} ${fsType} (${options}), ${sizeGiB} GiB, ${kind} (as the VM reports it)`;
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8' }).trim();
  } catch (err) {
    return `unknown (${(err as Error).message.split('\n')[0]})`;
  }
}
