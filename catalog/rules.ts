// What both catalog drivers share: the schema version, how a cluster id looks, and
// the refusals, worded once so an operator sees the same line whichever store holds
// the catalog.
import { randomBytes } from 'node:crypto';
import { ErrorType, TasksdError } from '../common/errors';
import type { NodeRecord, NodeRegistration } from './catalog';

/**
 * v1 nodes and shards; v2 claims with their route and the cluster id; v3 ownership
 * epochs; v4 node URLs and kinds; v5 cordoned nodes and fleet plans.
 */
export const SCHEMA_VERSION = 5;

/** `c-` and 12 hex digits (common/names.ts relies on the shape). */
export function newClusterId(): string {
  return `c-${randomBytes(6).toString('hex')}`;
}

export function unknownNode(id: string): TasksdError {
  return new TasksdError(ErrorType.UnknownNode, `unknown node ${id}: add it with "tasksd node add ${id}"`);
}

export function unknownShard(org: string, ns: string): TasksdError {
  return new TasksdError(
    ErrorType.UnknownShard,
    `unknown shard ${org}/${ns}: create it with "tasksd shard create --org ${org} --namespace ${ns} --node <node>"`,
  );
}

export function catalogConflict(location: string, theirs: string, nodes: number, shards: number, ours: string): TasksdError {
  return new TasksdError(
    ErrorType.CatalogConflict,
    `the catalog at ${location} holds another cluster (${theirs}, ${nodes} nodes, ${shards} shards); ` +
      `refusing to overwrite it with cluster ${ours}: use an empty database`,
  );
}

/** An agent starting under an id that another agent (or directory) holds. */
export function nodeTaken(existing: NodeRecord, wanted: NodeRegistration): TasksdError {
  return new TasksdError(
    ErrorType.NodeExists,
    `node ${existing.id} is registered at ${existing.url ?? 'no URL'} with directory ${existing.dir}, not ${wanted.url} with ${wanted.dir}; ` +
      'start this agent under its own id, or pass --replace to take the id over',
  );
}

/** Whether a registration may stand as it is, is refused, or replaces the node. */
export function registrationOutcome(existing: NodeRecord | undefined, wanted: NodeRegistration, replace: boolean): 'insert' | 'same' | 'update' {
  if (!existing) return 'insert';
  if (existing.kind === 'agent' && existing.url === wanted.url && existing.dir === wanted.dir) return 'same';
  if (!replace) throw nodeTaken(existing, wanted);
  return 'update';
}

export function shardBusy(org: string, ns: string, holder: string): TasksdError {
  return new TasksdError(
    ErrorType.ShardBusy,
    `shard ${org}/${ns} is already being migrated by job ${holder}; wait for it or cancel it with "tasksd cancel ${holder}"`,
  );
}
