// Fault and pacing hooks the crash tests switch on through the worker's environment.
// Production workers leave them unset; each one only slows or breaks a copy.
export interface ActivityTestHooks {
  /** Caps the copy rate, giving crash tests a wide mid-copy window without sleeps. */
  copyBytesPerSecond?: number;
  /** Fails the copy after its first chunk with this errno code (e.g. ENOSPC). */
  failCopyWith?: string;
  /** Flips a byte of every copy before verification. */
  corruptCopy?: boolean;
}

export function testHooksFromEnv(env: NodeJS.ProcessEnv = process.env): ActivityTestHooks {
  const rate = Number(env.TASKSD_TEST_COPY_BYTES_PER_SEC);
  return {
    copyBytesPerSecond: Number.isFinite(rate) && rate > 0 ? rate : undefined,
    failCopyWith: env.TASKSD_TEST_FAIL_COPY || undefined,
    corruptCopy: env.TASKSD_TEST_CORRUPT_COPY === '1',
  };
}
