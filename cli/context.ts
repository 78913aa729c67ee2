// Opening and always closing what a command uses: the cluster's catalog, or a
// Temporal connection (left open, the process would not exit).
import { Cluster } from '../store/cluster';
import type { MigrationClient } from '../client';

export async function withCluster<T>(fn: (cluster: Cluster) => T | Promise<T>): Promise<T> {
  const cluster = await Cluster.fromEnv();
  try {
    return await fn(cluster);
  } finally {
    await cluster.close();
  }
}

export async function withMigrations<T>(fn: (migrations: MigrationClient) => Promise<T>): Promise<T> {
  // Loaded on demand: the Temporal SDK costs about a second, which cluster commands skip.
  // require, not import(): tsx leaves import() to Node's ESM loader, which wants file extensions.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { MigrationClient } = require('../client') as typeof import('../client');
  const migrations = await MigrationClient.connect();
  try {
    return await fn(migrations);
  } finally {
    await migrations.close();
  }
}
