import type { Database } from 'better-sqlite3';

export declare const ZERO_SUM: string;
export declare function adjust(sumHex: string, sign: 1 | -1, id: string, title: string, body: Buffer | null | undefined): string;
export declare function recomputeContentSum(db: Database, options?: { onBodyBytes?: (bytes: number) => void }): { sum: string; rows: number };
