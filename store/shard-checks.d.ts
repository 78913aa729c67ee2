import type { Database } from 'better-sqlite3';
import type { ContentScan } from './sqlite-thread';

export declare function quickCheck(db: Database): string[];
export declare function contentSum(db: Database): ContentScan;
