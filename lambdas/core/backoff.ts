/**
 * Pause before trying again after losing a conditional write to another writer of the same user:
 * none for the first two tries (the winner's write is already known, the retry is likely to win),
 * then "full jitter" from 4 ms doubling to a 64 ms ceiling, so that a crowd of writers spreads out
 * instead of colliding in lockstep. Each round has one winner, so N writers need up to N rounds.
 */
export function contentionPause(attempt: number, random: () => number = Math.random): Promise<void> {
  const ms = contentionPauseMs(attempt, random);
  return ms === 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, ms));
}

export function contentionPauseMs(attempt: number, random: () => number = Math.random): number {
  if (attempt <= 2) return 0;
  return random() * Math.min(64, 4 * 2 ** (attempt - 3));
}
