/**
 * WatermelonDB reports protocol misuse (e.g. a pulled `created` record under
 * `sendCreatedAsUpdated`, an id twice, a timestamp going backwards) through `console.error` /
 * `console.warn` messages starting with `[Sync]`, and carries on. Every e2e test fails on any.
 */
import { afterEach, beforeEach, expect, vi } from 'vitest';

const LEVELS = ['error', 'warn'] as const;

function text(args: unknown[]): string {
  return args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
}

/** WatermelonDB's logger prefixes string messages with "[🍉] "; logged Errors carry the bare message. */
export function isSyncDiagnostic(args: unknown[]): boolean {
  return text(args).replace(/^\[🍉\]\s*/u, '').startsWith('[Sync]');
}

// Noise, not diagnostics: the deprecation warning the required LokiJS options cause by design
// (`useIncrementalIndexedDB: false`), and LokiJS's progress lines on console.log.
const EXPECTED_NOISE = /LokiJSAdapter \{useIncrementalIndexedDB: false\} option is now deprecated|^\[🍉\] \[Loki\] /u;

/**
 * Registers beforeEach/afterEach hooks that spy on the console and fail the test on any `[Sync]`
 * message. `take()` hands the messages seen so far to a test that provokes one on purpose.
 */
export function failOnSyncDiagnostics(): { take(): string[] } {
  let seen: string[] = [];
  beforeEach(() => {
    seen = [];
    const log = console.log.bind(console);
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      if (!EXPECTED_NOISE.test(text(args))) log(...args);
    });
    for (const level of LEVELS) {
      const original = console[level].bind(console);
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        if (isSyncDiagnostic(args)) seen.push(`console.${level}: ${text(args)}`);
        else if (!EXPECTED_NOISE.test(text(args))) original(...args);
      });
    }
  });
  afterEach(() => {
    for (const level of [...LEVELS, 'log'] as const) (console[level] as unknown as { mockRestore?: () => void }).mockRestore?.();
    const found = seen;
    seen = [];
    expect(found, 'WatermelonDB reported [Sync] diagnostics').toEqual([]);
  });
  return {
    take() {
      const found = seen;
      seen = [];
      return found;
    },
  };
}
