/** Counts bytes streamed and collects the young generation every `everyBytes` of them. */
export declare class YoungGc {
  constructor(everyBytes: number);
  add(bytes: number): void;
}
