// The one place a catalog driver is chosen (TASKSD_CATALOG):
//   unset            → SQLite at $TASKSD_DATA/catalog.db (the embedded default)
//   sqlite:PATH      → SQLite at PATH
//   postgres://…     → PostgreSQL (also postgresql://…), any libpq URL
import * as path from 'node:path';
import { ErrorType, TasksdError } from '../common/errors';
import type { Catalog } from './catalog';
import type { PostgresOptions } from './postgres';
import { SqliteCatalog } from './sqlite';

export type CatalogLocation = { driver: 'sqlite'; file: string } | { driver: 'postgres'; url: string };

export function catalogLocation(dataRoot: string, setting: string | undefined): CatalogLocation {
  if (!setting) return { driver: 'sqlite', file: path.join(dataRoot, 'catalog.db') };
  if (setting.startsWith('sqlite:')) {
    const file = setting.slice('sqlite:'.length);
    if (!file) throw badSetting('sqlite: needs a path, e.g. sqlite:/var/lib/tasksd/catalog.db');
    return { driver: 'sqlite', file: path.resolve(file) };
  }
  if (/^postgres(ql)?:\/\//.test(setting)) return { driver: 'postgres', url: setting };
  throw badSetting('use sqlite:PATH or a postgres://user:password@host:port/database URL (or leave it unset for the embedded default)');
}

export async function openCatalog(location: CatalogLocation, options: PostgresOptions = {}): Promise<Catalog> {
  if (location.driver === 'sqlite') return new SqliteCatalog(location.file);
  // Loaded on demand: a SQLite cluster's processes (a node agent above all) skip pg.
  // require, not import(): tsx leaves import() to Node's ESM loader.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PostgresCatalog } = require('./postgres') as typeof import('./postgres');
  return PostgresCatalog.open(location.url, options);
}

function badSetting(hint: string): TasksdError {
  // The value itself may hold a password: never echoed.
  return new TasksdError(ErrorType.InvalidInput, `TASKSD_CATALOG is not valid: ${hint}`);
}
