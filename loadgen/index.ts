// The load generator's API, for tests and benchmarks:
//   startWriters   N writer processes putting at a steady rate; stop() → WriterReport
//   moveBackAndForth   K moves of one shard between two nodes via the MigrationClient
//   moveUnderLoad  both together, then checkWrites (no acknowledged write lost)
//   longestGap     the write pause a client saw within a window of acknowledgements
export { checkWrites, type CheckResult } from './check';
export { longestGap, type Gap } from './gaps';
export { nowMs, readLog, type WriteRecord } from './log';
export { moveBackAndForth, type MoveOptions, type MoveRecord } from './moves';
export { moveUnderLoad, type LoadedMovesOptions, type LoadedMovesResult } from './run';
export { startWriters, type RunningWriters, type StartWritersOptions, type WindowReport, type WriterReport } from './writers';
