// The worker's native connection, apart from connection.ts so that clients such as
// the CLI do not pay for loading @temporalio/worker.
import { NativeConnection } from '@temporalio/worker';
import { temporalTarget, unreachable } from './connection';

export async function connectWorker(target = temporalTarget()): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(target.connectionOptions);
  } catch (err) {
    throw unreachable(target, err);
  }
}
