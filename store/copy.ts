// Byte copies of a shard's main file, in chunks so that a long copy can report
// progress, be cancelled, and resume from an offset after a crash. Measured on this
// kind of machine (SQLITE-COPY.md): a plain copy is only consistent while writers
// are blocked, so callers copy either a locked shard or under a snapshot reader.
import * as fs from 'node:fs/promises';

export interface CopyProgress {
  bytesCopied: number;
  totalBytes: number;
}

export interface CopyOptions {
  /** Continue a copy whose first `resumeFrom` bytes are already in `dest`. */
  resumeFrom?: number;
  onProgress?: (progress: CopyProgress) => void;
  signal?: AbortSignal;
  /** Test hook: caps the copy rate so crash tests get a wide mid-copy window. */
  bytesPerSecond?: number;
  /** Told the offset a copy resumes from (0 when it starts over). */
  onStart?: (offset: number) => void;
  /** Test hook: called before each chunk is written; throw to simulate a disk error. */
  beforeWrite?: (offset: number) => void;
  chunkBytes?: number;
}

const DEFAULT_CHUNK = 8 * 1024 * 1024;

/** Copies `source` to `dest`; returns the number of bytes in `dest`. */
export async function copyInChunks(source: string, dest: string, options: CopyOptions = {}): Promise<number> {
  const src = await fs.open(source, 'r');
  let dst: fs.FileHandle | undefined;
  try {
    const totalBytes = (await src.stat()).size;
    let offset = await resumableOffset(dest, options.resumeFrom ?? 0, totalBytes);
    dst = await fs.open(dest, offset > 0 ? 'r+' : 'w');
    await dst.truncate(offset);
    options.onStart?.(offset);
    const chunkBytes = options.bytesPerSecond
      ? Math.max(4096, Math.min(DEFAULT_CHUNK, Math.floor(options.bytesPerSecond / 10)))
      : (options.chunkBytes ?? DEFAULT_CHUNK);
    const buffer = Buffer.allocUnsafe(chunkBytes);
    const started = Date.now();
    const startOffset = offset;
    options.onProgress?.({ bytesCopied: offset, totalBytes });
    while (offset < totalBytes) {
      options.signal?.throwIfAborted();
      const { bytesRead } = await src.read(buffer, 0, Math.min(chunkBytes, totalBytes - offset), offset);
      if (bytesRead === 0) break;
      options.beforeWrite?.(offset);
      await writeFully(dst, buffer.subarray(0, bytesRead), offset);
      offset += bytesRead;
      options.onProgress?.({ bytesCopied: offset, totalBytes });
      if (options.bytesPerSecond) await pace(offset - startOffset, options.bytesPerSecond, started, options.signal);
    }
    await dst.sync();
    return offset;
  } finally {
    await dst?.close();
    await src.close();
  }
}

/** A resume offset is trusted only if the partial file really holds that many bytes. */
async function resumableOffset(dest: string, resumeFrom: number, totalBytes: number): Promise<number> {
  if (resumeFrom <= 0 || resumeFrom > totalBytes) return 0;
  try {
    return (await fs.stat(dest)).size >= resumeFrom ? resumeFrom : 0;
  } catch {
    return 0;
  }
}

async function writeFully(handle: fs.FileHandle, data: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}

async function pace(bytesDone: number, bytesPerSecond: number, started: number, signal?: AbortSignal): Promise<void> {
  const due = started + (bytesDone / bytesPerSecond) * 1000;
  const wait = due - Date.now();
  if (wait <= 0) return;
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, wait);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
