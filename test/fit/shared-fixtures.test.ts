/**
 * Every file of the shared fixture set (../shared/fixtures/fit, 59 real and corrupt files
 * described in its SOURCES.md): never a throw; an activity whose values the `activities`
 * column schemas accept, or a typed failure with a message; the outcome SOURCES.md's label
 * implies, with the exceptions below asserted by name.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACTIVITY_SPORTS, FIT_ERROR_CODES, FIT_NOTE_CODES, FitFileError, decodeFitActivity, type FitDecodeResult } from '../../lambdas/fit/index.js';
import { SHARED_FIXTURES_DIR, columnProblems } from './support/fixtures.js';

/** Labelled VALID, but hold no activity: a typed `no_activity`, by design. */
const VALID_WITHOUT_ACTIVITY = new Set([
  'muktihari-fit/valid_only_contain_fileid.fit', // one record: no time span
  'python-fitparse/DeveloperData.fit', // three records without timestamps
  'python-fitparse/MonitoringFile.fit', // a monitoring file
  'python-fitparse/Settings.fit', // a settings file
]);
/** Labelled CORRUPT, yet the activity file in it is intact: what follows it has no FIT signature. */
const CORRUPT_WITH_INTACT_ACTIVITY = new Set(['python-fitparse/activity-settings-corruptheader.fit']);
/** Valid files the Garmin SDK cannot read: fit-file-parser reads them. */
const READ_BY_FALLBACK = new Set([
  'python-fitparse/antfs-dump.63.fit',
  'python-fitparse/compressed-speed-distance.fit',
  'muktihari-fit/triathlon_summary_first.fit',
  'muktihari-fit/triathlon_summary_last.fit',
]);

function fitFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return fitFiles(path);
    return name.endsWith('.fit') ? [path] : [];
  });
}

/** file → its "what" column (the label comes first: VALID, CORRUPT, TRUNCATED, BAD CRC…). */
function labels(sourcesMd: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of sourcesMd.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length >= 8 && cells[1]!.endsWith('.fit')) map.set(cells[1]!, cells[6]!);
  }
  return map;
}

function expectedFailureCodes(label: string): readonly string[] {
  if (label.startsWith('EMPTY')) return ['empty'];
  if (label.startsWith('NOT FIT')) return ['not_fit'];
  if (label.startsWith('TRUNCATED')) return ['truncated'];
  if (label.startsWith('BAD')) return ['bad_crc'];
  return ['bad_crc', 'truncated']; // CORRUPT
}

const present = existsSync(join(SHARED_FIXTURES_DIR, 'SOURCES.md'));

describe('every shared FIT fixture', () => {
  it.skipIf(!present)(`decodes to a valid activity or a typed failure${present ? '' : ` — SKIPPED: ${SHARED_FIXTURES_DIR} not found (set FIT_FIXTURES_DIR)`}`, () => {
    const label = labels(readFileSync(join(SHARED_FIXTURES_DIR, 'SOURCES.md'), 'utf8'));
    const files = fitFiles(SHARED_FIXTURES_DIR).map((p) => relative(SHARED_FIXTURES_DIR, p).split('\\').join('/')).sort();
    expect(files.length).toBeGreaterThanOrEqual(59);
    const outcomes: Record<string, string> = {};
    const problems: string[] = [];

    for (const file of files) {
      const what = label.get(file);
      if (what === undefined) {
        problems.push(`${file}: no row in SOURCES.md`);
        continue;
      }
      let result: FitDecodeResult;
      try {
        result = decodeFitActivity(new Uint8Array(readFileSync(join(SHARED_FIXTURES_DIR, file))));
      } catch (e) {
        problems.push(`${file}: threw ${String(e)}`);
        continue;
      }
      outcomes[file] = result.ok ? `ok ${result.decoder}` : result.error.code;

      const valid = what.startsWith('VALID');
      const shouldBeActivity = (valid && !VALID_WITHOUT_ACTIVITY.has(file)) || CORRUPT_WITH_INTACT_ACTIVITY.has(file);
      if (result.ok) {
        if (!shouldBeActivity) problems.push(`${file} (${what.slice(0, 20)}…): unexpectedly an activity`);
        problems.push(...columnProblems(result.activity).map((p) => `${file}: ${p}`));
        if (!ACTIVITY_SPORTS.includes(result.activity.sport)) problems.push(`${file}: sport ${result.activity.sport}`);
        if (result.notes.some((n) => !FIT_NOTE_CODES.includes(n.code) || n.message.length === 0)) problems.push(`${file}: malformed note`);
        const expectedDecoder = READ_BY_FALLBACK.has(file) ? 'fit-file-parser' : 'garmin-fitsdk';
        if (result.decoder !== expectedDecoder) problems.push(`${file}: read by ${result.decoder}, expected ${expectedDecoder}`);
      } else {
        const { error } = result;
        if (!(error instanceof FitFileError) || !FIT_ERROR_CODES.includes(error.code) || error.message.length === 0) problems.push(`${file}: untyped failure`);
        if (shouldBeActivity) problems.push(`${file} (${what.slice(0, 20)}…): ${error.code}: ${error.message}`);
        else if (valid && error.code !== 'no_activity') problems.push(`${file}: ${error.code}, expected no_activity`);
        else if (!valid && !expectedFailureCodes(what).includes(error.code)) problems.push(`${file} (${what.slice(0, 20)}…): ${error.code}`);
      }
    }

    expect(problems).toEqual([]);
    // The documented exceptions are real, not stale names.
    for (const file of VALID_WITHOUT_ACTIVITY) expect(outcomes[file]).toBe('no_activity');
    for (const file of CORRUPT_WITH_INTACT_ACTIVITY) expect(outcomes[file]).toBe('ok garmin-fitsdk');
    for (const file of READ_BY_FALLBACK) expect(outcomes[file]).toBe('ok fit-file-parser');
  });
});
