// The product's own copy and check functions, run alone on a file, so the bench can
// say which step of a move the time goes to. The one place that knows store/
// internals: when the product's verification changes, only this file follows.
import { copyInChunks } from '../../store/copy';
import { structuralProblems, verifyContent } from '../../store/sqlite-thread';

export const STEP_NAMES = {
  chunkedCopy: 'chunked copy + fsync',
  quickCheck: 'quick_check (as prepare runs it on the source)',
  verifyCopy: 'verify copy (quick_check ∥ content scan)',
} as const;

export type StepName = keyof typeof STEP_NAMES;

export async function runStep(step: StepName, source: string, copy: string): Promise<void> {
  switch (step) {
    case 'chunkedCopy':
      await copyInChunks(source, copy);
      return;
    case 'quickCheck':
      await structuralProblems(copy);
      return;
    case 'verifyCopy':
      await verifyContent(copy, `bench copy ${copy}`);
      return;
  }
}
