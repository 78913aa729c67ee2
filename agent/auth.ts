// The cluster token check every agent request passes first. Both sides are hashed to
// the same length before a constant-time compare, so neither the token's content nor
// its length leaks through timing.
import { createHash, timingSafeEqual } from 'node:crypto';

export function bearerChecker(token: string): (header: string | undefined) => boolean {
  if (!token) throw new Error('a node agent needs a cluster token (TASKSD_CLUSTER_TOKEN)');
  const expected = digest(token);
  return (header) => {
    const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
    // Compare something either way, so a missing header takes as long as a wrong one.
    const given = digest(match ? match[1] : '');
    return timingSafeEqual(given, expected) && match !== null;
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
