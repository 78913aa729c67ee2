// Opening and always closing what a command uses: the cluster's catalog, or a
// Temporal connection (left open, the process would not exit).
import { clusterToken, tlsCaFile } from '../common/cluster-token';
import { Cluster } from '../store/cluster';
import { ClusterClient } from '../transport/cluster-client';
import { Peers } from '../transport/peers';
import type { MigrationClient } from '../client';

/** The cluster's data through its node agents (put, get, load, shards, shard create). */
export async function withAgents<T>(fn: (client: ClusterClient, cluster: Cluster) => Promise<T>): Promise<T> {
  return withCluster(async (cluster) => {
    const peers = new Peers(cluster.catalog, clusterToken(cluster.dataRoot), tlsCaFile());
    try {
      return await fn(new ClusterClient(cluster.catalog, peers), cluster);
    } finally {
      await peers.close();
    }
  });
}

async function existingClusterId(): Promise<string> {
  return withCluster((cluster) => cluster.catalog.clusterId, { mustExist: true });
}

export async function withCluster<T>(fn: (cluster: Cluster) => T | Promise<T>, options: { mustExist?: boolean } = {}): Promise<T> {
  const cluster = await Cluster.fromEnv({}, process.env, options);
  try {
    return await fn(cluster);
  } finally {
    await cluster.close();
  }
}

/**
 * A Temporal client for job commands. `forCluster` makes it start jobs for this
 * cluster (on its own task queue); the cluster must exist, so a mistyped data root is
 * refused instead of starting a job no worker of a real cluster would take.
 */
export async function withMigrations<T>(fn: (migrations: MigrationClient) => Promise<T>, options: { forCluster?: boolean } = {}): Promise<T> {
  const cluster = options.forCluster ? await existingClusterId() : undefined;
  // Loaded on demand: the Temporal SDK costs about a second, which cluster commands skip.
  // require, not import(): tsx leaves import() to Node's ESM loader, which wants file extensions.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { MigrationClient } = require('../client') as typeof import('../client');
  const migrations = await MigrationClient.connect({ cluster });
  try {
    return await fn(migrations);
  } finally {
    await migrations.close();
  }
}
