/** One collection now: the young generation or the whole heap (a no-op where `gc` cannot be had). */
export declare function collectGarbage(type: 'minor' | 'major'): void;
/** One young-generation collection now (a no-op where `gc` cannot be had). */
export declare function youngGc(): void;
/** Counts bytes streamed and collects the young generation every `everyBytes` of them. */
export declare class YoungGc {
  constructor(everyBytes: number);
  add(bytes: number): void;
}
