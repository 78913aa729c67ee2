// Reads a process's CPU time and memory from /proc (Linux only), so the bench can
// charge CPU to the dev server and peak memory to the worker, each by pid.
import * as fs from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux builds we run on). */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after its closing ")" are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / TICKS_PER_SECOND;
}

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM, ...). */
export function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM' | 'RssAnon' | 'RssFile' | 'RssShmem'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Resets VmHWM to the current RSS, so the next peak read covers only what follows. */
export function resetPeakRss(pid: number): void {
  fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** Samples VmRSS every `intervalMs` until stopped; the samples draw the memory chart. */
export function sampleRss(pid: number, intervalMs = 100): { stop(): { t: number; rss: number }[] } {
  const started = performance.now();
  const samples: { t: number; rss: number }[] = [];
  const take = () => {
    try {
      samples.push({ t: (performance.now() - started) / 1000, rss: statusBytes(pid, 'VmRSS') });
    } catch {
      // The process ended; the caller notices on its own.
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}
