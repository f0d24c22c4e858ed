/** Fixture access and reference decodes for the FIT tests. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Decoder, Stream } from '@garmin/fitsdk';
import FitParser, { type ParsedFit } from 'fit-file-parser';
import { tableDef } from '../../../lambdas/core/schema.js';
import { decodeFitActivity, type FitActivitySummary } from '../../../lambdas/fit/index.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The content type of a FIT upload. */
export const FIT_TYPE = 'application/vnd.ant.fit';
/** A short real run (Garmin fēnix 2), the upload tests' usual recording. */
export const RUN = 'python-fitparse/activity-small-fenix2-run.fit';
/** The same recording as RUN (same file_id), re-written: the bytes differ (sports-lib's padded export). */
export const RUN_REEXPORTED = 'derived/trailing-garbage.fit';

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** What the processor makes of a fixture; throws if it does not decode. */
export function decoded(bytes: Uint8Array): FitActivitySummary {
  const r = decodeFitActivity(bytes);
  if (!r.ok) throw new Error(`fixture does not decode: ${r.error.message}`);
  return r.activity;
}

/** The copied subset (test/fixtures/fit, see its SOURCES.md). */
export function fixture(relativePath: string): Uint8Array {
  return new Uint8Array(readFileSync(`${repoRoot}test/fixtures/fit/${relativePath}`));
}

/** The full shared set, next to the repository (present on CI and dev machines of this project). */
export const SHARED_FIXTURES_DIR = process.env.FIT_FIXTURES_DIR ?? `${repoRoot}../shared/fixtures/fit`;

/** Session and record messages exactly as Garmin's SDK reads them (the reference values). */
export function sdkRead(bytes: Uint8Array) {
  const { messages, errors } = new Decoder(Stream.fromByteArray(bytes)).read();
  return { sessions: (messages.sessionMesgs ?? []) as unknown as Record<string, unknown>[], records: (messages.recordMesgs ?? []) as unknown as Record<string, unknown>[], errors };
}

/** fit-file-parser's reading (reference for files only it can decode). */
export function fitFileParserRead(bytes: Uint8Array): ParsedFit {
  let result: ParsedFit | undefined;
  new FitParser({ force: false }).parse(new Uint8Array(bytes).buffer, (error, data) => {
    if (error) throw new Error(error);
    result = data;
  });
  if (!result) throw new Error('fit-file-parser returned nothing');
  return result;
}

/** Problems of an activity's values against the `activities` column schemas; [] when valid. */
export function columnProblems(activity: FitActivitySummary): string[] {
  const columns = tableDef('activities')!.columns;
  const problems: string[] = [];
  for (const [name, value] of Object.entries(activity)) {
    const column = columns.find((c) => c.name === name);
    if (!column) {
      problems.push(`${name}: not an activities column`);
      continue;
    }
    const parsed = column.schema.safeParse(value);
    if (!parsed.success) problems.push(`${name}: ${parsed.error.issues.map((i) => i.message).join(', ')}`);
  }
  return problems;
}

export const ms = (v: unknown) => (v as Date).getTime();
