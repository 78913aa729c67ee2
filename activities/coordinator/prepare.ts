// The coordinator's first step: the request, validated again (the Temporal CLI
// bypasses the client), against the catalog. Nothing is claimed or touched here; the
// source and destination agents check their sides next, and only then the claim.
import { ErrorType, TasksdError } from '../../common/errors';
import { parseMigrationRequest } from '../../common/validation';
import type { Cluster } from '../../store/cluster';
import { checkCluster } from '../cluster-guard';
import type { PrepareInput, Prepared } from '../types';

export const DEFAULT_MAX_PAUSE_MS = 1000;

export async function prepareMove(cluster: Cluster, { jobId, request }: PrepareInput): Promise<Prepared> {
  const { org, ns, to, from, mode = 'offline', maxPauseMs = DEFAULT_MAX_PAUSE_MS, maxBytesPerSecond, cluster: wanted } = parseMigrationRequest(request);
  checkCluster(cluster, jobId, wanted);
  const shard = await cluster.catalog.shard(org, ns);
  const destination = await cluster.catalog.node(to);
  if (from !== undefined && shard.owner !== from) {
    throw new TasksdError(ErrorType.OwnerChanged, `shard ${org}/${ns} is owned by ${shard.owner} now, not ${from} as planned; not moving it`);
  }
  if (shard.jobId && shard.jobId !== jobId) await cluster.catalog.claim(org, ns, jobId); // throws ShardBusy naming the holder
  if (shard.owner === to) {
    throw new TasksdError(ErrorType.SameNode, `shard ${org}/${ns} is already on node ${to}; pick another destination`);
  }
  if (destination.cordoned) {
    throw new TasksdError(
      ErrorType.NodeCordoned,
      `node ${to} is cordoned: it takes no new shards; pick another node, or take the cordon off with "tasksd node uncordon ${to}"`,
    );
  }
  return { org, ns, from: shard.owner, to, mode, maxPauseMs, ...(maxBytesPerSecond ? { maxBytesPerSecond } : {}), cluster: cluster.catalog.clusterId };
}
