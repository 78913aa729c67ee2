// The search attributes every migration and fleet job carries, filterable in the Web UI and CLI.
// `defineSearchAttributeKey` is pure, so the workflow bundle may import this file.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const MigrationStatus = defineSearchAttributeKey('MigrationStatus', SearchAttributeType.KEYWORD);
export const MigrationOrg = defineSearchAttributeKey('MigrationOrg', SearchAttributeType.KEYWORD);
export const MigrationNs = defineSearchAttributeKey('MigrationNs', SearchAttributeType.KEYWORD);
export const MigrationFrom = defineSearchAttributeKey('MigrationFrom', SearchAttributeType.KEYWORD);
export const MigrationTo = defineSearchAttributeKey('MigrationTo', SearchAttributeType.KEYWORD);
export const MigrationBytes = defineSearchAttributeKey('MigrationBytes', SearchAttributeType.INT);
export const MigrationPauseMs = defineSearchAttributeKey('MigrationPauseMs', SearchAttributeType.INT);

/** Fleet jobs (drain, rebalance): their kind, the drained node, and how they stand. */
export const FleetKind = defineSearchAttributeKey('FleetKind', SearchAttributeType.KEYWORD);
export const FleetNode = defineSearchAttributeKey('FleetNode', SearchAttributeType.KEYWORD);
export const FleetStatus = defineSearchAttributeKey('FleetStatus', SearchAttributeType.KEYWORD);

export const MIGRATION_SEARCH_ATTRIBUTES = [
  MigrationStatus,
  MigrationOrg,
  MigrationNs,
  MigrationFrom,
  MigrationTo,
  MigrationBytes,
  MigrationPauseMs,
  FleetKind,
  FleetNode,
  FleetStatus,
] as const;

/** `NAME=Type` pairs in the form `temporal server start-dev --search-attribute` takes. */
export function searchAttributeFlags(): string[] {
  return MIGRATION_SEARCH_ATTRIBUTES.flatMap((key) => [
    '--search-attribute',
    `${key.name}=${key.type === SearchAttributeType.INT ? 'Int' : 'Keyword'}`,
  ]);
}
