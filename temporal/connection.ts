// How every process here reaches Temporal: the SDK's environment configuration
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, profiles, TLS, API key), defaulting to
// localhost:7233 and the `default` namespace. Secrets stay inside the options; only
// the address and namespace are ever printed. The worker's own connection lives in
// worker-connection.ts, so clients (the CLI) never load the worker SDK.
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { MIGRATION_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const DEFAULT_ADDRESS = 'localhost:7233';

export interface TemporalTarget {
  connectionOptions: ReturnType<typeof loadClientConnectConfig>['connectionOptions'];
  namespace: string;
  address: string;
  /** True when an address came from the environment or a config profile. */
  configured: boolean;
}

export function temporalTarget(): TemporalTarget {
  const { connectionOptions, namespace } = loadClientConnectConfig();
  const configured = Boolean(connectionOptions.address);
  const address = connectionOptions.address ?? DEFAULT_ADDRESS;
  return { connectionOptions: { ...connectionOptions, address }, namespace: namespace ?? 'default', address, configured };
}

/** A clear, secret-free message for a server that cannot be reached. */
export function unreachable(target: TemporalTarget, err: unknown): Error {
  return new Error(
    `cannot reach Temporal at ${target.address} (namespace ${target.namespace}): ${sentence(err)}. ` +
      'Start one with "npm start" (embedded dev server) or set TEMPORAL_ADDRESS / a temporal.toml profile.',
  );
}

/** An error's message without its closing period, to sit inside a sentence of ours. */
function sentence(err: unknown): string {
  return String((err as Error)?.message ?? err).replace(/\.+$/, '');
}

export async function connectClient(target = temporalTarget()): Promise<{ client: Client; connection: Connection }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...(target.connectionOptions as object), address: target.address, connectTimeout: '5s' });
  } catch (err) {
    throw unreachable(target, err);
  }
  return { client: new Client({ connection, namespace: target.namespace }), connection };
}

/** Fails fast with a clear message when the namespace does not exist. */
export async function checkNamespace(connection: Connection, namespace: string): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch (err) {
    throw new Error(`Temporal namespace "${namespace}" is not usable: ${sentence(err)}. Create it or set TEMPORAL_NAMESPACE.`);
  }
}

/** Registers the migration search attributes the server lacks (a dev server started elsewhere, say). */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = MIGRATION_SEARCH_ATTRIBUTES.filter((key) => !customAttributes || !(key.name in customAttributes));
  if (missing.length === 0) return [];
  const types = Object.fromEntries(
    missing.map((key) => [
      key.name,
      key.type === SearchAttributeType.INT
        ? temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT
        : temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    ]),
  );
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: types });
  } catch (err) {
    throw new Error(
      `search attributes ${missing.map((k) => k.name).join(', ')} are missing on namespace "${namespace}" and could not be added ` +
        `(${(err as Error).message}); ask the server's operator to register them (see README)`,
    );
  }
  return missing.map((k) => k.name);
}
