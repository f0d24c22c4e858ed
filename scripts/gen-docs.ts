/**
 * `npm run docs`: writes docs/openapi.json (OpenAPI 3.1 of contract v1), docs/schema.md (schema v1)
 * and docs/conflicts.md (the conflict rules; renderer in scripts/docs/conflicts.ts) from the code,
 * so they cannot drift: the record schemas come from `TABLES` and the contract's zod schemas
 * through `z.toJSONSchema`, the routes from `API_ROUTES`, the error codes from the `SyncError`
 * family, the limits from `loadConfig`'s defaults, the conflict tables from calling the policy.
 * What the code keeps private (the conflicts list query, the local server-write body) is written
 * here and checked against the parser at generation. test/docs/generated.test.ts regenerates
 * every output in memory and fails when a committed file differs. An API_ROUTES entry without an
 * operation here is left out of openapi.json and reported (exit code 1; the drift test fails).
 *
 * The renderers are pure and deterministic (no clock, no environment, no filesystem); only `main`
 * writes files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { loadConfig } from '../lambdas/config.js';
import { CONFLICT_RULES } from '../lambdas/core/conflict.js';
import {
  CONFLICT_ID_PATTERN,
  DEFAULT_CONFLICTS_PER_PAGE,
  listCursor,
  MAX_CONFLICTS_PER_PAGE,
  MAX_REPORTS_PER_REQUEST,
  parseListQuery,
  reportBodySchema,
  toReport,
} from '../lambdas/core/conflict-log.js';
import { pullQuerySchema, pushBodySchema } from '../lambdas/core/contract.js';
import * as errorModule from '../lambdas/core/errors.js';
import { SyncError, ValidationError } from '../lambdas/core/errors.js';
import { MAX_WRITES_PER_MESSAGE, parseServerWriteRequest, SERVER_WRITE_SOURCES, type ServerWriteSource } from '../lambdas/core/server-write.js';
import { changeDetailSchema, DETAIL_TYPES, EVENT_SOURCE } from '../lambdas/core/change-feed.js';
import { MAX_EVENTS_PER_READ } from '../local/change-feed.js';
import {
  columnDefault,
  MAX_STRING_BYTES,
  RECORD_ID_PATTERN,
  recordId,
  SCHEMA_MIGRATIONS,
  SCHEMA_VERSION,
  SERVER_STAMP_COLUMNS,
  TABLES,
  type ColumnDef,
  type ColumnGroup,
  type TableDef,
} from '../lambdas/core/schema.js';
import { API_ROUTES } from '../lambdas/routes.js';
import { DEFAULT_UPLOAD_LIMITS, uploadRequestSchema } from '../lambdas/core/uploads.js';
import { LAMBDA_PAYLOAD_LIMIT } from '../local/lambda-event.js';
import { cell, EXAMPLE_VALUES, GENERATED_NOTE } from './docs/common.js';
import { CONFLICTS_MD_PATH, ENTRY_FIELD_DOCS, renderConflictsMarkdown, restoreActions, serverWriteActions, sourceIsPublic } from './docs/conflicts.js';

export type JsonSchema = { [key: string]: unknown };

export const OPENAPI_PATH = 'docs/openapi.json';
export const SCHEMA_MD_PATH = 'docs/schema.md';
export const LOCAL_TOKEN_PATH = '/local/token';
export const LOCAL_SERVER_WRITE_PATH = '/local/server-write';
export const LOCAL_EVENTS_PATH = '/local/events';
export const EVENTS_SCHEMA_PATH = 'docs/events.schema.json';
/** The `cursor` of a conflicts page (`listCursor`); checked against `parseListQuery` at generation. */
export const CONFLICTS_CURSOR_PATTERN = /^\d{1,16}-[0-9a-f]{32}$/;
/** The user id rule of `POST /local/token`; a copy of the literal in local/server.ts (not exported there; the test checks it is still there). */
export const LOCAL_USER_ID_PATTERN = /^[A-Za-z0-9_.@:-]{1,128}$/;

// ---------------------------------------------------------------------------------------------
// Facts derived from the code
// ---------------------------------------------------------------------------------------------

/** Defaults of the runtime configuration (the environment is not read). */
function configDefaults() {
  return loadConfig({ TABLE_NAME: 'docs', CURSOR_SECRET: 'x'.repeat(32) });
}

export interface ErrorCodeInfo {
  readonly code: string;
  readonly status: number;
}

/** Every (code, status) of the `SyncError` family in lambdas/core/errors.ts, by status then code. */
export function errorFamily(): ErrorCodeInfo[] {
  const byCode = new Map<string, ErrorCodeInfo>();
  for (const value of Object.values(errorModule)) {
    if (typeof value !== 'function' || !(value.prototype instanceof SyncError)) continue;
    const e = new (value as unknown as new (message: string) => SyncError)('probe');
    // Abstract bases of the family (RetryLaterError) carry no code of their own.
    if (e.code === undefined) continue;
    const known = byCode.get(e.code);
    if (known && known.status !== e.statusCode) throw new Error(`error code '${e.code}' has two statuses: ${known.status} and ${e.statusCode}`);
    byCode.set(e.code, { code: e.code, status: e.statusCode });
  }
  return [...byCode.values()].sort((a, b) => a.status - b.status || cmp(a.code, b.code));
}

/** When each error code is returned. A new code in errors.ts fails generation until it is described here. */
const ERROR_WHEN: Record<string, string> = {
  validation_error:
    'Malformed JSON, a push body that is not a push (an unknown table, a record without a string id, a duplicate id in one push, a missing `last_pulled_at`), a `last_pulled_at` or `base_versions` entry later than any timestamp the server issued, a bad query parameter, an invalid conflict report. Nothing is written. (A push record that fails on its own — a wrong type, an unknown column, an oversized string, a bad id, a missing required column of a new record, a change to a server-owned table, another user\'s id — is not an error: it is rejected alone in a 200 answer, see `PushResponse.rejected`.)',
  invalid_cursor: 'A forged, altered, expired, foreign (another user) or other-pull cursor. Restart the pull without `cursor`.',
  unauthorized: 'No bearer token, a bad signature, wrong issuer or audience, expired, or no `sub` claim.',
  not_found: "No route for this path; for a restore, no conflict with this id in the caller's log.",
  method_not_allowed: 'A known path with another method (local stack; in AWS, API Gateway answers requests that match no route itself).',
  payload_too_large: 'The request exceeds the gateway body limit or the Lambda invocation payload limit.',
  unsupported_media_type: 'A request body declared as something other than JSON (`application/json`, `application/*+json`) or `text/plain`.',
  throttled: 'DynamoDB throttled the request after the SDK retries (`Retry-After` header), or API Gateway throttled the stage. Retry later.',
  internal_error: 'Anything unexpected (including a response over the Lambda payload limit); the body never carries internals. Retrying a push is safe.',
  push_deadline_exceeded: 'A push (or a server-side write such as a restore) ran past its write window; nothing is lost, retry the whole request after `Retry-After`.',
  contention:
    "Too many writers of the same user at once (the user's clock, or one record changing under every attempt) until the attempts ran out; every write is whole and conditional, so nothing is half-applied. Retry after `Retry-After` (a retried push is idempotent).",
  forbidden:
    "A push (or a server-side write) names the id of a record another user owns (ids of activities, plans and planned workouts belong to the user who first wrote them; settings keys are per user). Details name the table and record id. Nothing is written. Also any route, for a token whose `sub` is longer than 256 bytes (details: `token.sub`): every user's data is keyed by it.",
};

/** Codes of the family that no code path returns, and why they are not documented as responses. */
const UNUSED_CODES: Record<string, string> = {};

function statusOf(code: string): number {
  const info = errorFamily().find((e) => e.code === code);
  if (!info) throw new Error(`error code '${code}' is not in lambdas/core/errors.ts`);
  return info.status;
}

/** Strips the `$schema` zod puts on a top-level JSON Schema (OpenAPI 3.1 uses 2020-12 already). */
function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

function accepts(schema: z.ZodType, value: unknown): boolean {
  return schema.safeParse(value).success;
}

function typesOf(js: JsonSchema): string[] {
  return Array.isArray(js.type) ? (js.type as string[]) : typeof js.type === 'string' ? [js.type] : [];
}

/**
 * What zod's JSON Schema cannot carry (refinements) recovered by probing the column's schema:
 * the UTF-8 byte limit of free strings, JSON-encoded strings, non-negative numbers. Added to the
 * string / number part of the column's JSON Schema.
 */
export function columnJsonSchema(c: ColumnDef): JsonSchema {
  let cached = columnSchemas.get(c);
  if (!cached) columnSchemas.set(c, (cached = buildColumnJsonSchema(c)));
  return structuredClone(cached);
}
const columnSchemas = new WeakMap<ColumnDef, JsonSchema>();

function buildColumnJsonSchema(c: ColumnDef): JsonSchema {
  const js = jsonSchemaOf(c.schema, 'output');
  const part = (type: string): JsonSchema | undefined => {
    if (typesOf(js).includes(type)) return js;
    return (js.anyOf as JsonSchema[] | undefined)?.find((b) => typesOf(b).includes(type));
  };
  const s = part('string');
  if (s && s.enum === undefined && s.pattern === undefined && s.const === undefined) {
    const maxBytes = probeMaxBytes(c.schema);
    if (maxBytes !== undefined) {
      s.maxLength = maxBytes;
      s['x-max-bytes'] = maxBytes;
    }
    if (accepts(c.schema, '"a"') && !accepts(c.schema, 'a"')) s.contentMediaType = 'application/json';
  }
  const n = part('number');
  if (n && n.minimum === undefined && n.exclusiveMinimum === undefined) {
    const nonNegative = [0, 0.5, 1e9].every((v) => accepts(c.schema, v)) && [-1e-9, -0.5, -1, -1e9].every((v) => !accepts(c.schema, v));
    if (nonNegative) n.minimum = 0;
  }
  js.description = c.doc;
  return js;
}

/** Largest accepted length (ASCII, so bytes) of a free string column, or undefined when unbounded up to 4 MiB. */
function probeMaxBytes(schema: z.ZodType): number | undefined {
  const candidate = (n: number) => JSON.stringify('a'.repeat(n - 2)); // valid JSON too, for JSON-encoded columns
  let lo = 2;
  let hi = 4 * 1024 * 1024;
  if (!accepts(schema, candidate(lo)) || accepts(schema, candidate(hi))) return undefined;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (accepts(schema, candidate(mid))) lo = mid;
    else hi = mid;
  }
  return lo;
}

const EXAMPLE_IDS: Record<string, string> = {
  activities: 'x7Gk2pQ9rT4mB1nZ',
  plans: 'Pl4nQ9rT4mB1nZx7',
  planned_workouts: 'Wk2pQ9rT4mB1nZx7',
  settings: 'units',
  uploads: 'Up7kW2mQ9rT4xB1n',
};
const EXAMPLE_CREATED_AT = 1735722000123;
const EXAMPLE_UPDATED_AT = 1735722000456;

/** A valid value of every column of `t`. */
export function exampleColumns(t: TableDef): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const c of t.columns) {
    const v = EXAMPLE_VALUES[t.name]?.[c.name] ?? columnDefault(c);
    if (!accepts(c.schema, v)) throw new Error(`no valid example for ${t.name}.${c.name}: add one to EXAMPLE_VALUES in scripts/docs/common.ts`);
    out[c.name] = v;
  }
  return out;
}

/** An example raw as a pull returns it. */
export function examplePulledRaw(t: TableDef): JsonSchema {
  return { id: exampleId(t), ...exampleColumns(t), created_at: EXAMPLE_CREATED_AT, updated_at: EXAMPLE_UPDATED_AT };
}

/** An example raw as WatermelonDB pushes it (a created record). */
export function examplePushedRaw(t: TableDef): JsonSchema {
  return { id: exampleId(t), ...exampleColumns(t), _status: 'created', _changed: '' };
}

function exampleId(t: TableDef): string {
  const id = EXAMPLE_IDS[t.name] ?? `${t.name.replace(/[^A-Za-z0-9]/g, '').slice(0, 8)}1`;
  if (!RECORD_ID_PATTERN.test(id)) throw new Error(`bad example id for ${t.name}`);
  return id;
}

const GROUP_DOCS: Record<ColumnGroup, string> = {
  recorded: 'Recorded/GPS data of an activity (what the watch or the import produced).',
  user: 'Fields the user types.',
  plan: 'Training-plan fields.',
  setting: 'A setting value.',
  server: 'Server-owned columns: clients only pull them.',
};

// ---------------------------------------------------------------------------------------------
// Record schemas
// ---------------------------------------------------------------------------------------------

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const pulledRawName = (table: string) => `PulledRaw_${table}`;
export const pushedRawName = (table: string) => `PushedRaw_${table}`;

function recordIdSchema(): JsonSchema {
  return { ...jsonSchemaOf(recordId, 'output'), description: 'Client-generated record id (the setting key for `settings`).' };
}

function stampSchema(what: string): JsonSchema {
  return { type: 'integer', minimum: 0, description: `${what}, ms since the epoch; server-assigned (stamp of the write).` };
}

/** A raw as a pull returns it: every column, `id`, `created_at` and `updated_at`; nothing else. */
export function pulledRawSchema(t: TableDef): JsonSchema {
  const properties: Record<string, JsonSchema> = { id: recordIdSchema() };
  for (const c of t.columns) properties[c.name] = columnJsonSchema(c);
  properties.created_at = stampSchema('Creation time');
  properties.updated_at = stampSchema('Time of the last write');
  const required = Object.keys(properties);
  properties._versions = {
    type: 'object',
    description:
      'Extension of v1, present when some column changed after the record was created: per column, the server stamp of its last change (a column not listed last changed at `created_at`). The client adapter judges conflicts per column with it; WatermelonDB drops the key when it stores the raw.',
    propertyNames: { enum: t.columns.map((c) => c.name) },
    additionalProperties: { type: 'integer', minimum: 0 },
  };
  properties._own_since = {
    type: 'integer',
    minimum: 0,
    description:
      "Extension of v1, only in a pull that sent `device_id`, on a record whose current version that device's push wrote (and which is not left out by P12: a merge, or a first, replacement or migration sync): the version the record had before the device's run of consecutive writes began (0: the device created it). Every column stamped after it is the device's own write, so the client adapter does not judge those columns as changes it missed (as the server does, rule R8a). WatermelonDB drops the key when it stores the raw.",
  };
  return {
    type: 'object',
    description: `A \`${t.name}\` record as a pull returns it. ${t.doc}`,
    properties,
    required,
    additionalProperties: false,
    examples: [examplePulledRaw(t)],
  };
}

/**
 * A raw as a push may carry it, taken from the contract's own zod schema (`pushBodySchema`):
 * each column optional, `id` required, WatermelonDB's `_status`/`_changed`, and the
 * server-owned stamps accepted but ignored.
 */
export function pushedRawSchema(t: TableDef): JsonSchema {
  const tableJs = pushTableJson(t.name);
  const created = (tableJs.properties as Record<string, JsonSchema>).created?.items as JsonSchema;
  const updated = (tableJs.properties as Record<string, JsonSchema>).updated?.items as JsonSchema;
  if (JSON.stringify(created) !== JSON.stringify(updated)) throw new Error(`pushBodySchema: created and updated raws of ${t.name} differ`);
  const properties = { ...(created.properties as Record<string, JsonSchema>) };
  for (const c of t.columns) {
    if (!(c.name in properties)) throw new Error(`pushBodySchema lacks column ${t.name}.${c.name}`);
    properties[c.name] = columnJsonSchema(c);
  }
  const annotate: Record<string, string> = {
    id: 'Client-generated record id (the setting key for `settings`).',
    _status: "WatermelonDB's sync status of the record (`created`, `updated`); accepted, never stored.",
    _changed: "WatermelonDB's comma-separated list of the columns the user changed: for `updated` raws the server writes only these columns. Never stored.",
    created_at: 'Server-owned: accepted and ignored.',
    updated_at: 'Server-owned: accepted and ignored.',
    deleted_at: 'Server-owned: accepted and ignored.',
  };
  for (const [k, d] of Object.entries(annotate)) if (properties[k]) properties[k] = { ...properties[k], description: d };
  return {
    type: 'object',
    description: `A \`${t.name}\` record as a push may carry it. Columns are optional; a record that does not exist yet needs every non-nullable column.`,
    properties,
    required: created.required,
    additionalProperties: created.additionalProperties,
    examples: [examplePushedRaw(t)],
  };
}

function pushBodyJson(): JsonSchema {
  return jsonSchemaOf(pushBodySchema, 'input');
}

function pushTableJson(table: string): JsonSchema {
  const changes = (pushBodyJson().properties as Record<string, JsonSchema>).changes as JsonSchema;
  const js = (changes.properties as Record<string, JsonSchema>)[table];
  if (!js) throw new Error(`pushBodySchema has no table '${table}'`);
  return js;
}

/** The push body: zod's JSON Schema of `pushBodySchema`, with the raws as references. */
function pushRequestSchema(): JsonSchema {
  const body = pushBodyJson();
  const changes = (body.properties as Record<string, JsonSchema>).changes as JsonSchema;
  const tables = changes.properties as Record<string, JsonSchema>;
  for (const t of TABLES) {
    const tableJs = tables[t.name] as JsonSchema;
    const kinds = tableJs.properties as Record<string, JsonSchema>;
    if (t.clientWritable) {
      for (const kind of ['created', 'updated'] as const) kinds[kind] = { ...kinds[kind], items: ref(pushedRawName(t.name)) };
      kinds.deleted = { ...kinds.deleted, items: ref('RecordId'), description: 'Ids of records deleted on the device.' };
      tableJs.description = `Changes of \`${t.name}\`. A missing array counts as empty.`;
    } else {
      for (const kind of ['created', 'updated', 'deleted'] as const) {
        kinds[kind] = { ...kinds[kind], items: kind === 'deleted' ? ref('RecordId') : { type: 'object' }, maxItems: 0 };
      }
      tableJs.description = `\`${t.name}\` is server-owned: WatermelonDB sends it with empty arrays, which are accepted; any change is a 400.`;
    }
  }
  changes.description = 'Per table, the changes made on the device since its last pull. Tables may be omitted; unknown tables are a 400.';
  const lastPulledAt = (body.properties as Record<string, JsonSchema>).last_pulled_at as JsonSchema;
  lastPulledAt.description =
    'Timestamp of the last pull (authoritative, unlike the query parameter); null before the first pull. Conflict detection compares stored records against it, unless `base_versions` names the record.';
  const baseVersions = (body.properties as Record<string, JsonSchema>).base_versions as JsonSchema | undefined;
  if (!baseVersions) throw new Error('pushBodySchema has no `base_versions`: update scripts/gen-docs.ts and scripts/docs/conflicts.ts');
  baseVersions.description =
    "Optional (extension of contract v1): per table and record id, the server version (`updated_at`) the device's change was made on, where it differs from `last_pulled_at`: the version it deleted, for a delete whose pulled edit WatermelonDB ignored (client module 0.4 and later send nothing else; 0.2 and 0.3 also sent a version the device pushed itself after its last pull, from a push response's `versions`, which the server still accepts). That record's conflicts are judged against it instead of `last_pulled_at` (docs/conflicts.md). A version later than any timestamp the server issued is a 400.";
  for (const [table, js] of Object.entries(baseVersions.properties as Record<string, JsonSchema>)) js.description = `Base versions of \`${table}\` records, by record id.`;
  const device = (body.properties as Record<string, JsonSchema>).device_id as JsonSchema | undefined;
  if (!device) throw new Error('pushBodySchema has no `device_id`: update scripts/gen-docs.ts');
  device.description =
    "Optional (extension of contract v1; the client module sends it): a stable id of the device's database. A change whose base is at or after the start of this device's own run of writes to the record is not judged against those writes (R8a: its own writes are never a conflict for it), and the device's delta pulls leave out what it wrote exactly as sent (P12).";
  body.description = 'WatermelonDB push body.';
  body.examples = [
    {
      changes: Object.fromEntries(
        TABLES.map((t) => [
          t.name,
          t.name === 'activities' ? { created: [examplePushedRaw(t)], updated: [], deleted: [] } : t.name === 'plans' ? { created: [], updated: [], deleted: [exampleId(t)] } : { created: [], updated: [], deleted: [] },
        ]),
      ),
      last_pulled_at: EXAMPLE_UPDATED_AT,
      base_versions: { plans: { [EXAMPLE_IDS.plans as string]: EXAMPLE_UPDATED_AT + 500 } },
    },
  ];
  return body;
}

/** The push response: `timestamp`, and `versions` (per record whose change stands, the version holding it). */
function pushResponseSchema(): JsonSchema {
  const tables: Record<string, JsonSchema> = {};
  for (const t of TABLES) {
    if (!t.clientWritable) continue;
    tables[t.name] = {
      type: 'object',
      description: `Versions of accepted \`${t.name}\` changes, by record id.`,
      propertyNames: { type: 'string', pattern: RECORD_ID_PATTERN.source },
      additionalProperties: { type: 'integer', minimum: 0 },
    };
  }
  const activities = TABLES.find((t) => t.name === 'activities') as TableDef;
  return {
    type: 'object',
    properties: {
      timestamp: { type: 'integer', minimum: 0, description: 'Server timestamp after the push.' },
      versions: {
        type: 'object',
        description:
          "Extension of contract v1: per table and record id, the version (`updated_at`) that holds the device's change: the stamp the push wrote, or the version already stored when the change was there already. Records whose change a rule discarded, or that ended deleted, are absent; tables without any are omitted. The client adapter sets them as the pushed records' `updated_at` (and `created_at` of what it pushed as created), so its copies equal the server's without pulling its own writes back (P12).",
        properties: tables,
        additionalProperties: false,
      },
      experimentalRejectedIds: {
        type: 'object',
        description:
          "Present when some records were rejected: per table, their ids (WatermelonDB's `SyncPushResult.experimentalRejectedIds`: the device keeps them dirty and pushes them again at every sync until they are fixed or discarded). Nothing of a rejected record was written; the rest of the push was.",
        additionalProperties: { type: 'array', items: { type: 'string' } },
      },
      rejected: {
        type: 'array',
        description: 'Present with `experimentalRejectedIds`: each rejected record with its reasons, in the error detail format (docs/errors.md).',
        items: {
          type: 'object',
          properties: {
            table: { type: 'string' },
            id: { type: 'string' },
            details: { type: 'array', items: ref('ErrorDetail'), minItems: 1 },
          },
          required: ['table', 'id', 'details'],
          additionalProperties: false,
        },
      },
    },
    required: ['timestamp', 'versions'],
    additionalProperties: false,
    examples: [{ timestamp: EXAMPLE_UPDATED_AT + 2000, versions: { [activities.name]: { [exampleId(activities)]: EXAMPLE_UPDATED_AT + 2000 } } }],
  };
}

// ---------------------------------------------------------------------------------------------
// Conflict log and server-side writes
// ---------------------------------------------------------------------------------------------

const EXAMPLE_LOST = { rule: 'plan-server-wins', losingAction: 'update', losing: { goal: 'Finish strong' }, winning: { goal: 'Sub-48 10K' } } as const;

/** A real report (its id is the hash `conflictId` makes). */
export function exampleConflictReport(): JsonSchema {
  return { ...toReport('plans', EXAMPLE_IDS.plans as string, EXAMPLE_UPDATED_AT, { ...EXAMPLE_LOST, losing: { ...EXAMPLE_LOST.losing }, winning: { ...EXAMPLE_LOST.winning } }) };
}

function exampleConflictEntry(): JsonSchema {
  return { ...exampleConflictReport(), at: EXAMPLE_UPDATED_AT + 3000, resolved_by: 'device' };
}

/** The upload request (from its zod schema) and responses. */
function uploadSchemas(): Record<string, JsonSchema> {
  const presigned = {
    upload_id: { ...recordIdSchema(), description: 'The upload (and its `uploads` record) id.' },
    method: { const: 'POST', description: 'Send a multipart form POST.' },
    url: { type: 'string', description: 'Where to POST the form.' },
    fields: { type: 'object', additionalProperties: { type: 'string' }, description: 'Form fields to send, in order, before the `file` part.' },
    expires_at: { type: 'integer', minimum: 0, description: 'When the signed policy expires, ms since the epoch.' },
  };
  return {
    UploadRequest: {
      ...jsonSchemaOf(uploadRequestSchema(), 'input'),
      description: `Limits: FIT files up to ${DEFAULT_UPLOAD_LIMITS.fit.maxBytes} bytes (${DEFAULT_UPLOAD_LIMITS.fit.contentTypes.join(', ')}), images up to ${DEFAULT_UPLOAD_LIMITS.image.maxBytes} bytes (${DEFAULT_UPLOAD_LIMITS.image.contentTypes.join(', ')}); configurable with FIT_MAX_BYTES / IMAGE_MAX_BYTES.`,
    },
    UploadResponse: {
      type: 'object',
      properties: { ...presigned, status: { type: 'string', enum: ['pending', 'processing', 'processed', 'failed'], description: "Only on a repeated request whose file already arrived: nothing to send again. The upload's status (`pending`: stored, processing not started yet)." } },
      required: ['upload_id', 'method', 'url', 'fields', 'expires_at'],
      additionalProperties: false,
    },
    UploadUrlResponse: {
      type: 'object',
      properties: { upload_id: presigned.upload_id, url: { type: 'string', description: 'A presigned GET URL.' }, expires_at: presigned.expires_at },
      required: ['upload_id', 'url', 'expires_at'],
      additionalProperties: false,
    },
  };
}

/** The report and entry schemas, from `reportBodySchema` (zod), with what its parser checks beyond zod. */
function conflictSchemas(): Record<string, JsonSchema> {
  const body = jsonSchemaOf(reportBodySchema, 'input');
  const conflicts = (body.properties as Record<string, JsonSchema>).conflicts as JsonSchema;
  const item = conflicts.items as JsonSchema;
  const props = item.properties as Record<string, JsonSchema>;
  for (const [name, js] of Object.entries(props)) {
    const doc = ENTRY_FIELD_DOCS[name];
    if (!doc) throw new Error(`conflict report field '${name}' is not described in scripts/docs/conflicts.ts ENTRY_FIELD_DOCS`);
    props[name] = { ...js, description: doc };
  }
  // parseReportBody accepts only tables devices write, and only valid values of their columns.
  props.table = { ...props.table, enum: TABLES.filter((t) => t.clientWritable).map((t) => t.name) };
  for (const side of ['losing', 'winning'] as const) {
    props[side] = { ...props[side], description: `${props[side]?.description as string} Keys are columns of \`table\`, values valid for their column (checked; a bad one is a 400 naming \`conflicts.<i>.${side}.<column>\`).` };
  }
  const rules = (props.rule?.enum ?? []) as string[];
  if (rules.join() !== CONFLICT_RULES.join()) throw new Error('reportBodySchema rules differ from CONFLICT_RULES');
  const report: JsonSchema = {
    ...item,
    description: "A change a device's `conflictResolver` discarded, as the device reports it. `losing` must be empty when `losing_action` is `delete`.",
    examples: [exampleConflictReport()],
  };
  const entryProps: Record<string, JsonSchema> = {
    ...structuredClone(props),
    at: { type: 'integer', minimum: 0, description: ENTRY_FIELD_DOCS.at },
    resolved_by: { type: 'string', enum: ['server', 'device'], description: ENTRY_FIELD_DOCS.resolved_by },
  };
  return {
    ConflictReport: report,
    ConflictEntry: {
      type: 'object',
      description: "An entry of the caller's conflict log: a device-made change that a rule discarded (docs/conflicts.md).",
      properties: entryProps,
      required: [...(item.required as string[]), 'at', 'resolved_by'],
      additionalProperties: false,
      examples: [exampleConflictEntry()],
    },
    ConflictReportRequest: {
      ...body,
      properties: { conflicts: { ...conflicts, items: ref('ConflictReport'), description: `1 to ${MAX_REPORTS_PER_REQUEST} reports.` } },
      description: "What a device's `conflictResolver` discarded at pull (the client adapter sends it). Validated whole: one bad report is a 400 and nothing is logged.",
      examples: [{ conflicts: [exampleConflictReport()] }],
    },
    ConflictReportResponse: {
      type: 'object',
      properties: {
        logged: {
          type: 'array',
          items: { type: 'string', pattern: CONFLICT_ID_PATTERN.source },
          description: 'The ids of the reports, in request order. An id already in the log stays as it was (first `at`).',
        },
      },
      required: ['logged'],
      additionalProperties: false,
    },
    AccountExport: {
      type: 'object',
      properties: {
        user_id: { type: 'string', description: "The token's `sub`." },
        exported_at: { type: 'integer', minimum: 0, description: 'When the export was made (ms since the epoch).' },
        schema_version: { type: 'integer', minimum: 1, description: 'The schema version of the records.' },
        records: {
          type: 'object',
          description: 'Every live record by table, as a first sync pulls it.',
          properties: Object.fromEntries(TABLES.map((t) => [t.name, { type: 'array', items: ref(pulledRawName(t.name)) }])),
          required: TABLES.map((t) => t.name),
          additionalProperties: false,
        },
        conflicts: { type: 'array', items: ref('ConflictEntry'), description: 'The whole conflict log, oldest first.' },
        objects: {
          type: 'array',
          description: "The caller's stored upload objects.",
          items: { type: 'object', properties: { key: { type: 'string' }, size: { type: 'integer', minimum: 0 } }, required: ['key', 'size'], additionalProperties: false },
        },
      },
      required: ['user_id', 'exported_at', 'schema_version', 'records', 'conflicts', 'objects'],
      additionalProperties: false,
    },
    AccountExportLink: {
      type: 'object',
      properties: {
        download_url: { type: 'string', description: "A presigned GET of the export file (the `AccountExport` document as UTF-8 JSON, `Content-Disposition: attachment`), in the caller's own `exports/<user>/` prefix. Works without the API token (do not send it there)." },
        expires_at: { type: 'integer', minimum: 0, description: 'When the link stops working (ms since the epoch; `EXPORT_URL_TTL_S`, 15 minutes by default). The file itself is removed after a day, or by account erasure.' },
        bytes: { type: 'integer', minimum: 0, description: 'Size of the file.' },
      },
      required: ['download_url', 'expires_at', 'bytes'],
      additionalProperties: false,
    },
    AccountErasure: {
      type: 'object',
      properties: {
        complete: { type: 'boolean', description: 'True when nothing of the caller remains; false: repeat the request.' },
        deleted_items: { type: 'integer', minimum: 0, description: 'Table items deleted by this request (id claims included).' },
        deleted_objects: { type: 'integer', minimum: 0, description: 'Upload objects deleted by this request.' },
      },
      required: ['complete', 'deleted_items', 'deleted_objects'],
      additionalProperties: false,
      examples: [{ complete: true, deleted_items: 42, deleted_objects: 3 }],
    },
    ConflictListResponse: {
      type: 'object',
      properties: {
        conflicts: { type: 'array', items: ref('ConflictEntry'), description: 'Entries logged after `since`, oldest first (by `at`, then `id`).' },
        cursor: { type: 'string', pattern: CONFLICTS_CURSOR_PATTERN.source, description: 'Present when more entries remain: repeat the request with `&cursor=<this>`.' },
      },
      required: ['conflicts'],
      additionalProperties: false,
      examples: [{ conflicts: [exampleConflictEntry()] }],
    },
    ConflictRestoreResponse: {
      type: 'object',
      properties: {
        conflict: ref('ConflictEntry'),
        action: {
          type: 'string',
          enum: restoreActions(),
          description:
            '`update`: the losing values were written; `resurrect`: the deleted record lives again with them; `delete`: a losing delete was restored; `noop`: the record already holds them (a second restore); `create`: the record did not exist (device-reported entries only).',
        },
        version: { type: 'integer', minimum: 0, description: 'The stamp written (absent for `noop`): the record\'s new `updated_at`, which every device pulls.' },
      },
      required: ['conflict', 'action'],
      additionalProperties: false,
    },
  };
}

/** The sources `POST /local/server-write` accepts (probed through its parser). */
function publicServerWriteSources(): ServerWriteSource[] {
  return (Object.keys(SERVER_WRITE_SOURCES) as ServerWriteSource[]).filter(sourceIsPublic);
}

/** The `user_id` rule of `POST /local/server-write`, checked against its parser. */
const SERVER_WRITE_USER_ID = { minLength: 1, maxLength: 128 } as const;

export const serverWriteRecordName = (table: string) => `ServerWriteRecord_${table}`;

function serverWriteSchemas(): Record<string, JsonSchema> {
  const sources = publicServerWriteSources();
  const probe = (userId: string) => {
    try {
      parseServerWriteRequest({ user_id: userId, table: SERVER_WRITE_SOURCES[sources[0] as ServerWriteSource][0], source: sources[0], record: { id: 'abc' } });
      return true;
    } catch (e) {
      if (e instanceof ValidationError) return false;
      throw e;
    }
  };
  const { minLength, maxLength } = SERVER_WRITE_USER_ID;
  if (probe('a'.repeat(minLength - 1)) || !probe('a'.repeat(minLength)) || !probe('a'.repeat(maxLength)) || probe('a'.repeat(maxLength + 1))) {
    throw new Error('parseServerWriteRequest changed its user_id rule; update SERVER_WRITE_USER_ID in scripts/gen-docs.ts');
  }
  const tables = [...new Set(sources.flatMap((s) => SERVER_WRITE_SOURCES[s]))];
  const out: Record<string, JsonSchema> = {};
  for (const name of tables) {
    const t = TABLES.find((x) => x.name === name) as TableDef;
    const properties: Record<string, JsonSchema> = { id: recordIdSchema() };
    for (const c of t.columns) properties[c.name] = columnJsonSchema(c);
    out[serverWriteRecordName(name)] = {
      type: 'object',
      description: `A \`${name}\` record as a server-side write carries it: \`id\` and the columns to write (a record that does not exist yet needs every non-nullable column). Server stamps are not accepted.`,
      properties,
      required: ['id'],
      additionalProperties: false,
    };
  }
  const activities = TABLES.find((t) => t.name === 'activities') as TableDef;
  out.ServerWriteRequest = {
    description: `A server-side write as the plan engine or the FIT processor makes it. \`source\` decides which tables it may write: ${sources
      .map((s) => `\`${s}\`: ${SERVER_WRITE_SOURCES[s].map((x) => `\`${x}\``).join(', ')}`)
      .join('; ')}.`,
    anyOf: sources.flatMap((source) =>
      SERVER_WRITE_SOURCES[source].map((table) => ({
        type: 'object',
        properties: {
          user_id: { type: 'string', ...SERVER_WRITE_USER_ID, description: 'The user whose record it is (no token: the local stack trusts its caller).' },
          source: { const: source },
          table: { const: table },
          record: ref(serverWriteRecordName(table)),
        },
        required: ['user_id', 'table', 'record', 'source'],
        additionalProperties: false,
      })),
    ),
    examples: [
      {
        user_id: 'runner-1',
        table: activities.name,
        record: { id: exampleId(activities), distance_m: 8012.5, duration_s: 2712.4, started_at: 1735718400000 },
        source: 'garmin',
      },
    ],
  };
  out.ServerWriteResponse = {
    type: 'object',
    properties: {
      table: { type: 'string', enum: tables },
      id: recordIdSchema(),
      action: {
        type: 'string',
        enum: serverWriteActions(sources),
        description: '`create`, `update`: written (new stamp); `noop`: the record already holds these values; `ignored`: the record was deleted by the user and is not resurrected.',
      },
      version: { type: 'integer', minimum: 0, description: 'The stamp written (absent when nothing was written).' },
      conflict_ids: {
        type: 'array',
        items: { type: 'string', pattern: CONFLICT_ID_PATTERN.source },
        description: 'Conflict-log entries of what the write replaced (a `garmin` write over manually entered recorded data).',
      },
    },
    required: ['table', 'id', 'action', 'conflict_ids'],
    additionalProperties: false,
  };
  out.ServerWritesRequest = {
    description: `Several records of one user from one source (a re-optimised week), applied in order: the same body as a message on the deployed ingress queue (docs/deploy.md). Every record is validated and planned before any is written; the same record may appear once. At most ${MAX_WRITES_PER_MESSAGE} records.`,
    anyOf: sources.map((source) => ({
      type: 'object',
      properties: {
        user_id: { type: 'string', ...SERVER_WRITE_USER_ID, description: 'The user whose records they are.' },
        source: { const: source },
        writes: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_WRITES_PER_MESSAGE,
          items: {
            anyOf: SERVER_WRITE_SOURCES[source].map((table) => ({
              type: 'object',
              properties: { table: { const: table }, record: ref(serverWriteRecordName(table)) },
              required: ['table', 'record'],
              additionalProperties: false,
            })),
          },
        },
      },
      required: ['user_id', 'source', 'writes'],
      additionalProperties: false,
    })),
    examples: [
      {
        user_id: 'runner-1',
        source: 'plan-engine',
        writes: [
          { table: 'planned_workouts', record: { id: 'w1', completed_activity_id: 'run1' } },
          { table: 'planned_workouts', record: { id: 'w2', scheduled_on: '2027-03-04' } },
        ],
      },
    ],
  };
  out.ServerWritesResponse = {
    type: 'object',
    description: 'One result per record, in the order of `writes`.',
    properties: { results: { type: 'array', items: ref('ServerWriteResponse') } },
    required: ['results'],
    additionalProperties: false,
  };
  out.LocalEventsResponse = {
    type: 'object',
    description: `Change events in EventBridge's entry shape (as a rule target receives them); their schema: docs/events.schema.json. At most ${MAX_EVENTS_PER_READ} per answer.`,
    properties: {
      events: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            id: { type: 'string', description: 'The deterministic id (`detail.event_id`).' },
            source: { const: EVENT_SOURCE },
            'detail-type': { type: 'string', enum: [...DETAIL_TYPES] },
            time: { type: 'string', format: 'date-time' },
            detail: { type: 'object', description: 'See docs/events.schema.json.' },
          },
          required: ['id', 'source', 'detail-type', 'time', 'detail'],
          additionalProperties: false,
        },
      },
      cursor: { type: 'string', description: 'Read on with `?after=<cursor>`.' },
    },
    required: ['events', 'cursor'],
    additionalProperties: false,
  };
  return out;
}

/**
 * The query of `GET /api/v1/conflicts`. The parser's zod schema is private to
 * lambdas/core/conflict-log.ts, so what is documented here is checked against `parseListQuery`.
 */
function conflictListParameters(): JsonSchema[] {
  const parses = (q: Record<string, string>) => {
    try {
      return parseListQuery(q);
    } catch (e) {
      if (e instanceof ValidationError) return undefined;
      throw e;
    }
  };
  const cursor = listCursor({ at: 1735722000456, id: 'a'.repeat(32) });
  const checks: [string, boolean][] = [
    ['defaults', parses({})?.since === 0 && parses({})?.limit === DEFAULT_CONFLICTS_PER_PAGE],
    ['since', parses({ since: '5' })?.since === 5 && parses({ since: '-1' }) === undefined && parses({ since: 'x' }) === undefined],
    ['limit bounds', parses({ limit: '1' }) !== undefined && parses({ limit: String(MAX_CONFLICTS_PER_PAGE) }) !== undefined && parses({ limit: '0' }) === undefined && parses({ limit: String(MAX_CONFLICTS_PER_PAGE + 1) }) === undefined],
    ['cursor', CONFLICTS_CURSOR_PATTERN.test(cursor) && parses({ cursor }) !== undefined && parses({ cursor: 'abc' }) === undefined],
    ['unknown parameters', parses({ bogus: '1' }) === undefined],
  ];
  const broken = checks.filter(([, ok]) => !ok).map(([name]) => name);
  if (broken.length > 0) throw new Error(`parseListQuery disagrees with the documented conflicts query (${broken.join(', ')}); update scripts/gen-docs.ts`);
  return [
    { name: 'since', in: 'query', required: false, description: 'Entries logged strictly after this time (ms since the epoch, at most 16 digits). Defaults to 0 (every entry).', schema: { type: 'integer', minimum: 0, default: 0 } },
    { name: 'limit', in: 'query', required: false, description: `Entries per page, 1 to ${MAX_CONFLICTS_PER_PAGE}.`, schema: { type: 'integer', minimum: 1, maximum: MAX_CONFLICTS_PER_PAGE, default: DEFAULT_CONFLICTS_PER_PAGE } },
    { name: 'cursor', in: 'query', required: false, description: 'The `cursor` of the previous page, for the next one (keep `since` and `limit`).', schema: { type: 'string', pattern: CONFLICTS_CURSOR_PATTERN.source } },
  ];
}

function pullResponseSchema(): JsonSchema {
  const tables: Record<string, JsonSchema> = {};
  for (const t of TABLES) {
    tables[t.name] = {
      type: 'object',
      properties: {
        created: { type: 'array', maxItems: 0, items: ref(pulledRawName(t.name)), description: 'Always empty: clients run `sendCreatedAsUpdated`.' },
        updated: { type: 'array', items: ref(pulledRawName(t.name)), description: 'Every live record changed after `last_pulled_at` (all live records on a first sync).' },
        deleted: { type: 'array', items: ref('RecordId'), description: 'Ids of records soft-deleted after `last_pulled_at` (none on a first sync).' },
      },
      required: ['created', 'updated', 'deleted'],
      additionalProperties: false,
    };
  }
  const activities = TABLES.find((t) => t.name === 'activities') as TableDef;
  return {
    type: 'object',
    description: 'One page of a pull. Every synced table appears in `changes`.',
    properties: {
      changes: { type: 'object', properties: tables, required: TABLES.map((t) => t.name), additionalProperties: false },
      timestamp: { type: 'integer', minimum: 0, description: 'The pull timestamp: pass it as `last_pulled_at` next time. Every page of one pull carries the same value.' },
      cursor: { type: 'string', minLength: 1, description: 'Present when more pages remain: repeat the same pull with `&cursor=<this>`.' },
      estimated_records: {
        type: 'integer',
        minimum: 0,
        description:
          'Extension of contract v1, on the first page of a first sync (or a replacement sync) only: about how many records the whole pull brings (a count every write keeps up to date, at no extra request; it can be off by the writes of a push that failed midway). For a progress bar; absent for accounts whose count started before it existed.',
      },
      experimentalStrategy: {
        type: 'string',
        enum: ['replacement'],
        description:
          "Present (on every page) when `last_pulled_at` is older than the tombstone horizon (`TOMBSTONE_RETENTION_DAYS`) and something was written since: a replacement sync. `changes` then holds every live record and no deletes, like a first sync; WatermelonDB's replacement strategy removes the device's synced records that are not in it and keeps its unpushed changes (docs/sync-protocol.md, P10).",
      },
    },
    required: ['changes', 'timestamp'],
    additionalProperties: false,
    examples: [
      {
        changes: Object.fromEntries(
          TABLES.map((t) => [t.name, { created: [], updated: t === activities ? [examplePulledRaw(t)] : [], deleted: t.name === 'plans' ? [exampleId(t)] : [] }]),
        ),
        timestamp: EXAMPLE_UPDATED_AT + 1000,
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** Who answers: the Lambda handlers (v1 body only) or the gateway layer (API Gateway / the local server emulating it). */
type Source = 'lambda' | 'gateway' | 'local';
interface ErrorUse {
  readonly code: string;
  readonly from: readonly Source[];
  /** When this operation returns it, if narrower than the general description. */
  readonly when?: string;
  /** false: this route answers 429/503 without a `Retry-After` header (the local-only routes). */
  readonly retryAfter?: false;
}

function errorSchemas(): Record<string, JsonSchema> {
  const codes = errorFamily()
    .filter((e) => !(e.code in UNUSED_CODES))
    .map((e) => e.code);
  return {
    ErrorDetail: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'Dotted path of the offending value, e.g. `changes.activities.updated.0.distance_m` (empty: the whole body).' },
        message: { type: 'string' },
        table: { type: 'string', description: 'The table, when the error is about a record.' },
        record_id: { type: 'string', description: 'The record id, when known.' },
        field: { type: 'string', description: 'The column (or parameter), when the error is about one.' },
      },
      required: ['path', 'message'],
      additionalProperties: false,
    },
    ErrorObject: {
      type: 'object',
      properties: {
        code: { type: 'string', enum: codes, description: 'Machine-readable; see the table in the API description.' },
        message: { type: 'string', description: 'Human-readable; `internal error` for 5xx other than 503 (no internals).' },
        details: { type: 'array', items: ref('ErrorDetail') },
      },
      required: ['code', 'message', 'details'],
      additionalProperties: false,
    },
    ErrorResponse: {
      type: 'object',
      description: 'The v1 error body. Errors of the gateway layer of the local stack also carry API Gateway\'s `message` beside `error`.',
      properties: { error: ref('ErrorObject'), message: { type: 'string' } },
      required: ['error'],
      additionalProperties: false,
    },
    GatewayErrorResponse: {
      type: 'object',
      description:
        'An error answered by API Gateway itself (bad token, no route, body too large, stage throttling, a failed Lambda invocation): in AWS only `{"message": "..."}`, e.g. `{"message":"Unauthorized"}`; the local stack adds the v1 `error` object beside it.',
      properties: { message: { type: 'string' }, error: ref('ErrorObject') },
      required: ['message'],
      additionalProperties: false,
    },
  };
}

function errorBodySchema(codes: readonly string[], gateway: boolean): JsonSchema {
  const narrowed = {
    allOf: [ref('ErrorResponse'), { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string', enum: [...codes] } } } } }],
  };
  return gateway ? { anyOf: [narrowed, ref('GatewayErrorResponse')] } : narrowed;
}

function retryAfter(required: boolean, when: string): JsonSchema {
  return { description: `Seconds to wait before retrying. ${when}`, required, schema: { type: 'integer', minimum: 0 } };
}

function errorResponses(uses: readonly ErrorUse[]): Record<string, JsonSchema> {
  const byStatus = new Map<number, ErrorUse[]>();
  for (const u of uses) {
    if (!(u.code in ERROR_WHEN)) throw new Error(`no description for error code '${u.code}'`);
    const s = statusOf(u.code);
    byStatus.set(s, [...(byStatus.get(s) ?? []), u]);
  }
  const out: Record<string, JsonSchema> = {};
  for (const [status, list] of [...byStatus.entries()].sort((a, b) => a[0] - b[0])) {
    const codes = list.map((u) => u.code);
    const gateway = list.some((u) => u.from.includes('gateway'));
    const description = list.map((u) => `\`${u.code}\`: ${u.when ?? (ERROR_WHEN[u.code] as string)}`).join(' ');
    const response: JsonSchema = { description, content: { 'application/json': { schema: errorBodySchema(codes, gateway) } } };
    if ((status === 429 || status === 503) && list.every((u) => u.retryAfter === false)) {
      response.description = `${description} No \`Retry-After\` header on this route.`;
    } else if (status === 429) {
      response.headers = { 'Retry-After': retryAfter(false, "Sent with the handlers' `throttled` errors (DynamoDB throttling); not guaranteed on API Gateway's own stage throttling (`{\"message\":\"Too Many Requests\"}`).") };
    } else if (status === 503) {
      response.headers = { 'Retry-After': retryAfter(true, 'Always sent.') };
    }
    out[String(status)] = response;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// OpenAPI
// ---------------------------------------------------------------------------------------------

function queryParam(name: string, description: string): JsonSchema {
  const schema = (pullQuerySchema.shape as Record<string, z.ZodType>)[name];
  if (!schema) throw new Error(`pullQuerySchema has no parameter '${name}'`);
  return { name, in: 'query', required: !schema.safeParse(undefined).success, description, schema: jsonSchemaOf(schema, 'input') };
}

function pullParameters(): JsonSchema[] {
  const known = ['last_pulled_at', 'schema_version', 'migration', 'cursor', 'device_id'];
  const actual = Object.keys(pullQuerySchema.shape);
  if (actual.join() !== known.join()) throw new Error(`pullQuerySchema parameters changed: ${actual.join(', ')}; document them in scripts/gen-docs.ts`);
  const migration = pullQuerySchema.shape.migration;
  return [
    queryParam('last_pulled_at', 'Timestamp of the last pull, or `null` (also: absent, empty or `0`) for a first sync, which returns every live record and no deletions. A value later than any timestamp the server issued is a 400.'),
    queryParam(
      'schema_version',
      `The client's schema version (1 to ${SCHEMA_VERSION}); defaults to ${SCHEMA_VERSION}. Pulled raws carry exactly the columns of that version: columns added later are left out (a v1 client never receives \`uploads.duplicate_of\`), columns a record predates come as null.`,
    ),
    {
      name: 'migration',
      in: 'query',
      required: !migration.safeParse(undefined).success,
      description:
        "WatermelonDB's migration sync: URL-encoded JSON or `null`. Tables listed in `tables`, and records with a value in a column listed in `columns`, are sent in full.",
      content: { 'application/json': { schema: jsonSchemaOf(migration, 'output') } },
    },
    queryParam('cursor', 'The `cursor` of the previous page, to fetch the next page of the same pull (same other parameters). Bound to its user and pull; expires.'),
    queryParam(
      'device_id',
      "Extension of contract v1 (optional; the client module sends it): a stable id of the device's database. A delta pull leaves out the records whose current version this device's own push wrote exactly as it sent them (P12); first, replacement and migration syncs leave nothing out.",
    ),
  ];
}

type Operation = (errors: (uses: readonly ErrorUse[]) => Record<string, JsonSchema>) => JsonSchema;

/** The operation of each API_ROUTES entry; a route without one fails generation. */
const API_OPERATIONS: Record<string, Operation> = {
  'GET /api/v1/sync': (errors) => ({
    operationId: 'pullChanges',
    summary: 'Pull changes (WatermelonDB pullChanges)',
    description:
      'Returns the changes after `last_pulled_at`. Live records come in `updated`, never in `created` (clients run `sendCreatedAsUpdated`); soft-deleted records come in `deleted`. A page stays under the byte budget; when more remains it carries `cursor`.',
    tags: ['sync'],
    parameters: pullParameters(),
    responses: {
      '200': { description: 'One page of changes.', content: { 'application/json': { schema: ref('PullResponse') } } },
      ...errors([
        {
          code: 'validation_error',
          from: ['lambda'],
          when: 'A bad or unknown query parameter (including an unknown table or column in `migration`), or a `last_pulled_at` later than any timestamp the server issued.',
        },
        { code: 'invalid_cursor', from: ['lambda'] },
        { code: 'unauthorized', from: ['gateway', 'lambda'] },
        { code: 'payload_too_large', from: ['gateway'] },
        { code: 'throttled', from: ['lambda', 'gateway'] },
        { code: 'internal_error', from: ['lambda', 'gateway'] },
      ]),
    },
  }),
  'POST /api/v1/sync': (errors) => ({
    operationId: 'pushChanges',
    summary: 'Push changes (WatermelonDB pushChanges)',
    description:
      'Applies the changes made on the device. Created on an existing id is an update, updated on a missing id is a create, deleting a missing or deleted id is a no-op; a retried push is idempotent. A push that is not a push (400) writes nothing; a record that fails validation on its own (a column value, an unknown column, a bad id, a missing required column of a new record, a server-owned table, another user\'s id) is left out and named in `experimentalRejectedIds` and `rejected`, and the rest of the push applies (WatermelonDB keeps the rejected records dirty). A change to a record that changed on the server after the device\'s base version (`base_versions`, else `last_pulled_at`) is a conflict, resolved by the per-entity rules of docs/conflicts.md; what a rule discards goes to the conflict log.',
    tags: ['sync'],
    parameters: [
      {
        name: 'last_pulled_at',
        in: 'query',
        required: false,
        description: "Accepted and ignored (WatermelonDB's documented client snippet sends it); the body's `last_pulled_at` is authoritative.",
        schema: { type: 'string' },
      },
    ],
    requestBody: {
      required: true,
      description: 'JSON; sent as `application/json` (or `application/*+json`), `text/plain` or without a content type.',
      content: { 'application/json': { schema: ref('PushRequest') }, 'text/plain': { schema: ref('PushRequest') } },
    },
    responses: {
      '200': { description: 'Applied; `versions` holds the version of each record whose change stands, `experimentalRejectedIds` and `rejected` the records left out.', content: { 'application/json': { schema: ref('PushResponse') } } },
      ...errors([
        {
          code: 'validation_error',
          from: ['lambda'],
          when: 'A missing or malformed JSON body, a body that is not a push (an unknown table, a record without a string id, a duplicate id in one push), or a `last_pulled_at` or `base_versions` entry later than any timestamp the server issued. Details name the table, record id and field. Nothing is written. A record invalid on its own is not a 400: it is rejected alone (200, `rejected`).',
        },
        { code: 'unauthorized', from: ['gateway', 'lambda'] },
        { code: 'forbidden', from: ['lambda'] },
        { code: 'payload_too_large', from: ['gateway'], when: 'The request exceeds the gateway body limit or the Lambda invocation payload limit: split the push (the client adapter does).' },
        { code: 'unsupported_media_type', from: ['lambda'] },
        { code: 'throttled', from: ['lambda', 'gateway'] },
        { code: 'internal_error', from: ['lambda', 'gateway'] },
        { code: 'push_deadline_exceeded', from: ['lambda'] },
        { code: 'contention', from: ['lambda'] },
      ]),
    },
  }),
  'GET /api/v1/conflicts': (errors) => ({
    operationId: 'listConflicts',
    summary: "List the caller's conflict log",
    description:
      "The device-made changes that conflict rules discarded (at push on the server, or at pull on a device that reported them), oldest first. Entries expire after `CONFLICT_TTL_DAYS`. When `cursor` comes back, repeat the request with it for the next page.",
    tags: ['conflicts'],
    parameters: conflictListParameters(),
    responses: {
      '200': { description: 'One page of entries.', content: { 'application/json': { schema: ref('ConflictListResponse') } } },
      ...errors([
        { code: 'validation_error', from: ['lambda'], when: `A bad \`since\`, \`limit\` (1 to ${MAX_CONFLICTS_PER_PAGE}) or \`cursor\`, or an unknown query parameter.` },
        { code: 'unauthorized', from: ['gateway', 'lambda'] },
        { code: 'payload_too_large', from: ['gateway'] },
        { code: 'throttled', from: ['lambda', 'gateway'] },
        { code: 'internal_error', from: ['lambda', 'gateway'] },
      ]),
    },
  }),
  'POST /api/v1/conflicts': (errors) => ({
    operationId: 'reportConflicts',
    summary: 'Report conflicts a device resolved',
    description:
      "How a device reports the changes its `conflictResolver` discarded at pull, so they are kept in the conflict log (`resolved_by: \"device\"`). Idempotent by id: an id already in the log keeps its entry. The client adapter sends these; apps do not.",
    tags: ['conflicts'],
    requestBody: {
      required: true,
      description: 'JSON; sent as `application/json` (or `application/*+json`), `text/plain` or without a content type.',
      content: { 'application/json': { schema: ref('ConflictReportRequest') }, 'text/plain': { schema: ref('ConflictReportRequest') } },
    },
    responses: {
      '200': { description: 'Logged.', content: { 'application/json': { schema: ref('ConflictReportResponse') } } },
      ...errors([
        {
          code: 'validation_error',
          from: ['lambda'],
          when: `A missing or malformed JSON body, no report or more than ${MAX_REPORTS_PER_REQUEST}, an id that is not 32 lowercase hex digits, an unknown rule, a table devices do not write, an unknown column or an invalid value in \`losing\` or \`winning\`, or a non-empty \`losing\` with \`losing_action: "delete"\`. Details name the report (\`conflicts.<i>…\`). Nothing is logged.`,
        },
        { code: 'unauthorized', from: ['gateway', 'lambda'] },
        { code: 'payload_too_large', from: ['gateway'] },
        { code: 'unsupported_media_type', from: ['lambda'] },
        { code: 'throttled', from: ['lambda', 'gateway'] },
        { code: 'internal_error', from: ['lambda', 'gateway'] },
      ]),
    },
  }),
  'POST /api/v1/uploads': (errors) => ({
    operationId: 'createUpload',
    summary: 'Presign a FIT file or image upload',
    description:
      "Creates an `uploads` record (status `pending`, synced to the user's devices) and returns an S3 presigned POST: send `fields` in order, then the file as the `file` part, to `url` before `expires_at`. The signed policy pins the exact object key (`users/<sub>/<kind>/<upload_id>.fit|.image`), the content type, the exact declared size (`content-length-range` = [`size_bytes`, `size_bytes`]) and, when `sha256` is given, its checksum. Once the object exists the processor moves the record to `processing`, then `processed` or `failed` with a readable `error`; a FIT file becomes Garmin-sourced activity data (merged into `activity_id`, or a new activity `fit-<upload_id>`). Extension of contract v1: a client-chosen `upload_id` makes the request idempotent — repeating it presigns the same upload again (200) instead of creating another (201).",
    tags: ['uploads'],
    requestBody: { required: true, content: { 'application/json': { schema: ref('UploadRequest') } } },
    responses: {
      '201': { description: 'Upload created and presigned.', content: { 'application/json': { schema: ref('UploadResponse') } } },
      '200': { description: 'The same `upload_id` again: the existing upload presigned anew (`status` tells whether the file already arrived).', content: { 'application/json': { schema: ref('UploadResponse') } } },
      ...errors([
        {
          code: 'validation_error',
          from: ['lambda'],
          when: 'A bad or missing field: unknown `kind`, a content type not allowed for the kind, `size_bytes` not a positive integer or over the kind\'s limit, `sha256` not 64 hex digits, a bad `upload_id`, or an `upload_id` reused for a different upload. Details name the field. Nothing is written.',
        },
        { code: 'unauthorized', from: ['gateway', 'lambda'] },
        { code: 'forbidden', from: ['lambda'], when: 'The client-chosen `upload_id` belongs to another user.' },
        { code: 'not_found', from: ['lambda'], when: "`activity_id` names no live activity of the caller's (another user's activity is indistinguishable from a missing one)." },
        { code: 'unsupported_media_type', from: ['lambda'] },
        { code: 'payload_too_large', from: ['gateway'] },
        { code: 'throttled', from: ['lambda', 'gateway'] },
        { code: 'internal_error', from: ['lambda', 'gateway'] },
        { code: 'push_deadline_exceeded', from: ['lambda'], when: 'Creating the record ran past its write window; nothing is lost, retry it (with the same `upload_id`).' },
        { code: 'contention', from: ['lambda'], when: 'Too many concurrent writes of this user; nothing is half-done, retry it (with the same `upload_id`) after `Retry-After`.' },
      ]),
    },
  }),
  'GET /api/v1/uploads/{upload_id}/url': (errors) => ({
    operationId: 'getUploadUrl',
    summary: 'A short-lived download URL for an upload',
    description: "Presigns a GET of the uploaded object for its owner only. Another user's upload, an unknown id and a deleted record are all 404.",
    tags: ['uploads'],
    parameters: [{ name: 'upload_id', in: 'path', required: true, description: 'The upload id.', schema: recordIdSchema() }],
    responses: {
      '200': { description: 'A presigned GET URL.', content: { 'application/json': { schema: ref('UploadUrlResponse') } } },
      ...errors([
        { code: 'unauthorized', from: ['gateway', 'lambda'] },
        { code: 'not_found', from: ['lambda'], when: "No upload with this id among the caller's." },
        { code: 'throttled', from: ['lambda', 'gateway'] },
        { code: 'internal_error', from: ['lambda', 'gateway'] },
      ]),
    },
  }),
  'POST /api/v1/conflicts/{id}/restore': (errors) => ({
    operationId: 'restoreConflict',
    summary: "Restore a conflict's losing values",
    description:
      "Writes the entry's `losing` values back as a new, ordinary change by the user (a new stamp, so every device pulls it); no conflict rule runs. A deleted record lives again; a losing delete is restored by deleting. Restoring the same entry again changes nothing (`noop`). The entry stays in the log. No request body.",
    tags: ['conflicts'],
    parameters: [
      {
        name: 'id',
        in: 'path',
        required: true,
        description: "The entry's `id`. Any other value is a 404.",
        schema: { type: 'string', pattern: CONFLICT_ID_PATTERN.source },
      },
    ],
    responses: {
      '200': { description: 'Restored.', content: { 'application/json': { schema: ref('ConflictRestoreResponse') } } },
      ...errors([
        {
          code: 'validation_error',
          from: ['lambda'],
          when: "The entry names a record the server does not have (only a device-reported entry can) and its losing values lack a column needed to create it. Details name `record.<column>`.",
        },
        { code: 'unauthorized', from: ['gateway', 'lambda'] },
        { code: 'forbidden', from: ['lambda'], when: 'The entry names a record the server does not have (only a device-reported entry can) whose id another user owns.' },
        { code: 'not_found', from: ['lambda'], when: "No entry with this id in the caller's log: unknown, removed by the TTL, or another user's (logs are per user)." },
        { code: 'payload_too_large', from: ['gateway'] },
        { code: 'throttled', from: ['lambda', 'gateway'] },
        { code: 'internal_error', from: ['lambda', 'gateway'] },
        { code: 'push_deadline_exceeded', from: ['lambda'], when: 'The restore ran past its write window; nothing is lost, retry it after `Retry-After`.' },
        { code: 'contention', from: ['lambda'], when: 'Too many concurrent writes of this user; nothing is half-done, retry it after `Retry-After`.' },
      ]),
    },
  }),
  'GET /api/v1/account/export': (errors) => ({
    operationId: 'exportAccount',
    summary: 'Export everything the service keeps about the caller',
    description:
      'Every live record, exactly as a fresh device pulls it at the current schema version (`records`, by table), the conflict log (`conflicts`) and the stored upload objects (`objects`: key and size; fetch one through `GET /api/v1/uploads/{upload_id}/url`). Inline (the default) while the response fits `EXPORT_INLINE_MAX_BYTES` (4,000,000 bytes of Lambda response by default); a larger export is written to a file and answered `303 See Other` with `Location:` a presigned link to it, so a client that follows redirects receives the same document either way. `delivery=link` always answers with the link (200). Each link answer writes a new file; files expire after a day.',
    tags: ['account'],
    parameters: [
      {
        name: 'delivery',
        in: 'query',
        required: false,
        description: '`inline` (default): the document in the answer, or a 303 to a file when it is too large to answer inline. `link`: always a file, answered with its link.',
        schema: { type: 'string', enum: ['inline', 'link'], default: 'inline' },
      },
    ],
    responses: {
      '200': {
        description: 'The export (`delivery=inline`), or the link to the file holding it (`delivery=link`; `Cache-Control: no-store`).',
        content: { 'application/json': { schema: { oneOf: [ref('AccountExport'), ref('AccountExportLink')] } } },
      },
      '303': {
        description: 'The export is too large to answer inline: it was written to a file; `Location` is its presigned link (`Cache-Control: no-store`).',
        headers: { Location: { description: 'The `download_url` of the body.', schema: { type: 'string' } } },
        content: { 'application/json': { schema: ref('AccountExportLink') } },
      },
      ...errors([
        { code: 'validation_error', from: ['lambda'], when: "`delivery` is neither `inline` nor `link` (details name `delivery`)." },
        { code: 'unauthorized', from: ['gateway', 'lambda'] },
        { code: 'throttled', from: ['lambda', 'gateway'] },
        { code: 'internal_error', from: ['lambda', 'gateway'] },
      ]),
    },
  }),
  'DELETE /api/v1/account': (errors) => ({
    operationId: 'eraseAccount',
    summary: 'Erase everything of the caller',
    description:
      "Deletes the caller's upload objects and export files, then every item of the caller's partition (records, tombstones, the clock, the conflict log, recording claims) and the id claims of the caller's records, in bounded rounds: at most 2,000 items and 500 objects per request. `complete: false` means more remains: repeat the request until `complete: true`. Idempotent (an erased account answers `complete: true` with nothing deleted). What remains elsewhere: the table's point-in-time-recovery backups (35 days), CloudWatch logs (their retention) and the versioned uploads bucket's noncurrent versions (expired by its lifecycle rule, 30 days) hold copies until they age out. Revoke the user's sessions first: a device syncing meanwhile would write again.",
    tags: ['account'],
    responses: {
      '200': { description: 'One round done.', content: { 'application/json': { schema: ref('AccountErasure') } } },
      ...errors([
        { code: 'unauthorized', from: ['gateway', 'lambda'] },
        { code: 'throttled', from: ['lambda', 'gateway'] },
        { code: 'internal_error', from: ['lambda', 'gateway'] },
      ]),
    },
  }),
};

function localTokenPathItem(errors: (uses: readonly ErrorUse[]) => Record<string, JsonSchema>): JsonSchema {
  const notDeployed = 'Local only: served by the local stack (`npm start`) and does not exist in the deployed stack.';
  return {
    description: `${notDeployed} Other methods: 405 \`method_not_allowed\`.`,
    'x-local-only': true,
    post: {
      operationId: 'issueLocalToken',
      summary: 'Issue a local development token',
      description: `${notDeployed} Returns a JWT for \`user_id\` (its \`sub\`), signed by the local development key that the local stack verifies the way API Gateway's JWT authorizer would.`,
      tags: ['local'],
      'x-local-only': true,
      security: [],
      servers: [localServer()],
      requestBody: { required: true, content: { 'application/json': { schema: ref('LocalTokenRequest') } } },
      responses: {
        '200': { description: 'A token.', content: { 'application/json': { schema: ref('LocalTokenResponse') } } },
        ...errors([
          { code: 'validation_error', from: ['local'], when: `\`user_id\` is missing or does not match \`${LOCAL_USER_ID_PATTERN.source}\`, or the body is not JSON.` },
          { code: 'payload_too_large', from: ['gateway'], when: 'The request exceeds the gateway body limit.' },
          { code: 'internal_error', from: ['gateway'], when: 'The local server failed.' },
        ]),
      },
    },
  };
}

function localServerWritePathItem(errors: (uses: readonly ErrorUse[]) => Record<string, JsonSchema>): JsonSchema {
  const notDeployed = 'Local only: served by the local stack (`npm start`) and does not exist in the deployed stack.';
  const sources = publicServerWriteSources();
  return {
    description: `${notDeployed} Other methods: 405 \`method_not_allowed\`.`,
    'x-local-only': true,
    post: {
      operationId: 'localServerWrite',
      summary: 'Apply a server-side write (plan engine, Garmin data)',
      description: `${notDeployed} The deployed stack's equivalent is its SQS FIFO ingress queue (output \`ServerWriteQueueUrl\`), whose messages carry exactly this body. For tests and demos: applies one server-side write (or several of one user, \`writes\`) as ${sources.map((s) => `\`${s}\``).join(' or ')} through the same function the deployed writers use (\`applyServerWrite\`): same stamps as a push, same rules (docs/conflicts.md, "Server-side writes"). A deleted record is never resurrected (\`ignored\`); a \`garmin\` write replaces the recorded group and logs the manual values it replaces. No token: the local stack trusts its caller.`,
      tags: ['local'],
      'x-local-only': true,
      security: [],
      servers: [localServer()],
      requestBody: { required: true, content: { 'application/json': { schema: { oneOf: [ref('ServerWriteRequest'), ref('ServerWritesRequest')] } } } },
      responses: {
        '200': {
          description: 'Applied (or nothing to do: `noop`, `ignored`): one result for the one-record form, `results` for `writes`.',
          content: { 'application/json': { schema: { oneOf: [ref('ServerWriteResponse'), ref('ServerWritesResponse')] } } },
        },
        ...errors([
          {
            code: 'validation_error',
            from: ['local'],
            when: 'The body is not JSON; a field is missing or unknown; an unknown `source`, or a `table` the source may not write; a `record` value invalid for its column, an unknown column or a server stamp (details name `record.<column>`); a new record without every required column.',
          },
          { code: 'forbidden', from: ['local'], when: '`record.id` is a new id to this user in a table whose ids are global, and another user owns it.' },
          { code: 'payload_too_large', from: ['gateway'], when: 'The request exceeds the gateway body limit.' },
          { code: 'throttled', from: ['local'], when: 'DynamoDB throttled the write (only when the local stack runs against a DynamoDB that throttles).', retryAfter: false },
          { code: 'internal_error', from: ['gateway'], when: 'The local server failed.' },
          { code: 'push_deadline_exceeded', from: ['local'], when: 'The write ran past its write window; retry it.', retryAfter: false },
          { code: 'contention', from: ['local'], when: 'Too many concurrent writes of this user; nothing is half-done, retry it.', retryAfter: false },
        ]),
      },
    },
  };
}

function localEventsPathItem(errors: (uses: readonly ErrorUse[]) => Record<string, JsonSchema>): JsonSchema {
  const notDeployed = 'Local only: served by the local stack (`npm start`) and does not exist in the deployed stack.';
  return {
    description: `${notDeployed} Other methods: 405 \`method_not_allowed\`.`,
    'x-local-only': true,
    get: {
      operationId: 'localEvents',
      summary: 'Read the change feed',
      description: `${notDeployed} The deployed stack publishes the same events to its EventBridge bus (output \`EventBusName\`). Produced by the same stream handler as in AWS, fed by DynamoDB Local's stream (\`--engine dynamodb-local\`) or, on dynalite, by each committed record write. Events are kept in memory while the stack runs. No token: the local stack trusts its caller.`,
      tags: ['local'],
      'x-local-only': true,
      security: [],
      servers: [localServer()],
      parameters: [
        { name: 'after', in: 'query', required: false, description: 'A `cursor` this stack returned; absent: from the first event.', schema: { type: 'string', pattern: '^(0|[1-9][0-9]{0,15})$' } },
        { name: 'wait_ms', in: 'query', required: false, description: 'Wait up to this long for an event when there is none after `after` (a long poll).', schema: { type: 'integer', minimum: 0, maximum: 20000 } },
        { name: 'limit', in: 'query', required: false, description: 'Most events in the answer.', schema: { type: 'integer', minimum: 1, maximum: MAX_EVENTS_PER_READ } },
      ],
      responses: {
        '200': { description: 'The events after the cursor, and the cursor to read on from.', content: { 'application/json': { schema: ref('LocalEventsResponse') } } },
        ...errors([
          { code: 'validation_error', from: ['local'], when: 'A cursor this stack did not return, or `wait_ms`/`limit` out of range (details name the parameter).' },
          { code: 'not_found', from: ['local'], when: 'The stack runs with the change feed off.' },
          { code: 'internal_error', from: ['gateway'], when: 'The local server failed.' },
        ]),
      },
    },
  };
}

function localServer(): JsonSchema {
  return { url: 'http://localhost:3000', description: 'Local stack (`npm start`; `PORT` defaults to 3000).' };
}

function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}

function apiDescription(): string {
  const config = configDefaults();
  const used = errorFamily().filter((e) => !(e.code in UNUSED_CODES));
  const rows = used.map((e) => `| ${e.status} | \`${e.code}\` | ${(ERROR_WHEN[e.code] ?? '').replace(/\|/g, '\\|')} |`);
  return [
    `Contract v1 of the RunningCoach sync service (WatermelonDB sync protocol), schema v${SCHEMA_VERSION}. ${GENERATED_NOTE}`,
    '',
    "Authentication: `Authorization: Bearer <JWT>`; the user is the token's `sub` claim and nothing else. In AWS, API Gateway's JWT authorizer verifies the token.",
    '',
    `Paging: a pull page stays under \`PULL_PAGE_BYTES\` (default ${config.pull.pageBytes} bytes); repeat the pull with \`cursor\` until none comes back. A cursor lives \`CURSOR_TTL_MS\` (default ${config.pull.cursorTtlMs} ms).`,
    '',
    `Limits: requests and responses are limited to the Lambda invocation payload (${LAMBDA_PAYLOAD_LIMIT} bytes); the client adapter splits larger pushes. Free string columns hold at most ${MAX_STRING_BYTES} UTF-8 bytes unless their schema says otherwise (\`x-max-bytes\`).`,
    '',
    `Conflicts: two writes to one record are resolved by per-entity rules, on the server at push and on the device at pull (docs/conflicts.md has the decision table). What a rule discards is kept in the caller's conflict log (\`/api/v1/conflicts\`) for \`CONFLICT_TTL_DAYS\` (default ${config.push.conflictTtlMs / 86_400_000} days) and can be restored.`,
    '',
    'Errors: `{"error": {"code", "message", "details": [{"path", "message", "table"?, "record_id"?, "field"?}]}}`. Unknown paths answer 404 `not_found`, other methods on a known path 405 `method_not_allowed` (local stack); see `components.responses`. Errors of the gateway layer (bad token, no route, body too large, stage throttling) come from API Gateway in AWS and carry only `{"message": ...}` there (`GatewayErrorResponse`).',
    '',
    '| status | code | when |',
    '|---|---|---|',
    ...rows,
  ].join('\n');
}

/** API_ROUTES entries without an operation in API_OPERATIONS: missing from docs/openapi.json until documented here. */
export function undocumentedRoutes(): string[] {
  return API_ROUTES.map((r) => routeKey(r.method, r.path)).filter((key) => !(key in API_OPERATIONS));
}

/** The OpenAPI 3.1 document of contract v1, as an object. */
export function buildOpenApi(): JsonSchema {
  for (const code of Object.keys(UNUSED_CODES)) if (!errorFamily().some((e) => e.code === code)) throw new Error(`UNUSED_CODES lists unknown code '${code}'`);
  for (const e of errorFamily()) if (!(e.code in ERROR_WHEN) && !(e.code in UNUSED_CODES)) throw new Error(`error code '${e.code}' is neither described nor listed as unused`);

  const paths: Record<string, JsonSchema> = {};
  for (const r of API_ROUTES) {
    const op = API_OPERATIONS[routeKey(r.method, r.path)];
    // Reported by `undocumentedRoutes` (npm run docs exits 1, the drift test fails) rather than
    // thrown, so that one undocumented route does not stop the other documents from regenerating.
    if (!op) continue;
    const item = (paths[r.path] ??= { description: 'Other methods: 405 `method_not_allowed` on the local stack; in AWS, API Gateway answers requests that match no route itself.' });
    item[r.method.toLowerCase()] = { ...op(errorResponses), 'x-handler': `lambdas/handlers/${r.handler}.ts` };
  }
  for (const key of Object.keys(API_OPERATIONS)) {
    if (!API_ROUTES.some((r) => routeKey(r.method, r.path) === key)) throw new Error(`scripts/gen-docs.ts documents ${key}, which API_ROUTES lacks`);
  }
  paths[LOCAL_TOKEN_PATH] = localTokenPathItem(errorResponses);
  paths[LOCAL_SERVER_WRITE_PATH] = localServerWritePathItem(errorResponses);
  paths[LOCAL_EVENTS_PATH] = localEventsPathItem(errorResponses);

  const schemas: Record<string, JsonSchema> = {
    RecordId: recordIdSchema(),
    PullResponse: pullResponseSchema(),
    PushRequest: pushRequestSchema(),
    PushResponse: pushResponseSchema(),
    ...conflictSchemas(),
    ...uploadSchemas(),
    ...errorSchemas(),
    LocalTokenRequest: {
      type: 'object',
      properties: { user_id: { type: 'string', pattern: LOCAL_USER_ID_PATTERN.source, description: 'Becomes the token `sub`.' } },
      required: ['user_id'],
      examples: [{ user_id: 'runner-1' }],
    },
    LocalTokenResponse: {
      type: 'object',
      properties: { token: { type: 'string', description: 'A JWT (ES256) signed by the local development key.' } },
      required: ['token'],
      additionalProperties: false,
    },
    ...serverWriteSchemas(),
  };
  for (const t of TABLES) schemas[pulledRawName(t.name)] = pulledRawSchema(t);
  for (const t of TABLES) if (t.clientWritable) schemas[pushedRawName(t.name)] = pushedRawSchema(t);

  return {
    openapi: '3.1.0',
    info: {
      title: 'RunningCoach Sync API',
      version: '1',
      description: apiDescription(),
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [
      localServer(),
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
        description: 'Deployed HTTP API ($default stage).',
        variables: { apiId: { default: 'api-id', description: 'The id of the deployed HttpApi.' }, region: { default: 'region', description: 'The region deployed to (taken from the credentials at deploy time).' } },
      },
    ],
    security: [{ bearerAuth: [] }],
    tags: [
      { name: 'sync', description: 'WatermelonDB sync protocol.' },
      { name: 'uploads', description: 'FIT files and images: presigned S3 uploads; only the `uploads` record is synced.' },
      { name: 'conflicts', description: 'The conflict log: device-made changes that conflict rules discarded, and their restore (docs/conflicts.md).' },
      { name: 'account', description: "The caller's account: export and erasure." },
      { name: 'local', description: 'Local stack only; not deployed.' },
    ],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: "The user id is the token's `sub` claim." },
      },
      schemas,
      responses: {
        NotFound: {
          description: `\`not_found\`: ${ERROR_WHEN.not_found as string} Returned for any path the API does not serve.`,
          content: { 'application/json': { schema: errorBodySchema(['not_found'], true) } },
        },
        MethodNotAllowed: {
          description: `\`method_not_allowed\`: ${ERROR_WHEN.method_not_allowed as string}`,
          content: { 'application/json': { schema: errorBodySchema(['method_not_allowed'], true) } },
        },
      },
    },
    'x-schema-version': SCHEMA_VERSION,
  };
}

/** docs/openapi.json: 2-space JSON, trailing newline. Key order is fixed by construction (no clock, no environment). */
export function renderOpenApi(): string {
  return `${JSON.stringify(buildOpenApi(), null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------------

/** The constraints of a column, in words, from its (probed) JSON Schema. */
export function describeValues(c: ColumnDef): string {
  const js = columnJsonSchema(c);
  const branches = ((js.anyOf as JsonSchema[] | undefined) ?? [js]).filter((b) => !(typesOf(b).length === 1 && typesOf(b)[0] === 'null'));
  return branches
    .map((b) => {
      if (Array.isArray(b.enum)) return (b.enum as unknown[]).map((v) => `\`${JSON.stringify(v)}\``).join(', ');
      const parts: string[] = [];
      const types = typesOf(b).filter((t) => t !== 'null');
      if (types.includes('integer')) parts.push('integer');
      if (b.minimum !== undefined && b.maximum !== undefined) parts.push(`${String(b.minimum)} to ${String(b.maximum)}`);
      else if (b.minimum !== undefined) parts.push(`>= ${String(b.minimum)}`);
      else if (b.maximum !== undefined) parts.push(`<= ${String(b.maximum)}`);
      if (typeof b.pattern === 'string') parts.push(`matches \`${b.pattern}\``);
      if (b.contentMediaType === 'application/json') parts.push('JSON-encoded');
      if (typeof b['x-max-bytes'] === 'number') parts.push(`at most ${b['x-max-bytes']} UTF-8 bytes`);
      return parts.join(', ');
    })
    .filter((s) => s.length > 0)
    .join('; ') || `any ${c.type}`;
}

/** docs/schema.md: schema v1 as one table per synced table. */
export function renderSchemaMarkdown(): string {
  const idRule = RECORD_ID_PATTERN.source;
  const lines: string[] = [
    `<!-- ${GENERATED_NOTE} -->`,
    `# Schema v${SCHEMA_VERSION}`,
    '',
    `> Generated by \`npm run docs\` from \`TABLES\` in \`lambdas/core/schema.ts\`, the single source of truth of the synced tables. Do not edit: change the code and run \`npm run docs\`.`,
    '',
    `## Ids`,
    '',
    `Record ids are client-generated strings matching \`${idRule}\` (WatermelonDB generates 16 alphanumerics). In \`settings\` the record id is the setting's key, so two devices creating the same setting address the same record. Ids of ${TABLES.filter((t) => t.idScope === 'global').map((t) => `\`${t.name}\``).join(', ')} are global: the first user to write an id owns it, and another user's write of it is refused (403 \`forbidden\`); ids of ${TABLES.filter((t) => t.idScope === 'user').map((t) => `\`${t.name}\``).join(', ')} are per user (the same key in two accounts names two records).`,
    '',
    `## Server-owned columns (every table)`,
    '',
    '| Column | Type | Nullable | Description |',
    '|---|---|---|---|',
    ...SERVER_STAMP_COLUMNS.map(
      (name) =>
        `| \`${name}\` | number (ms) | no | ${name === 'created_at' ? 'Stamp of the write that created the record' : 'Stamp of the last write; delta pulls are ordered by it'}. Server-assigned; values a client pushes are ignored. Returned in pulled raws. |`,
    ),
    '| `deleted_at` | number (ms) | yes | Stamp of the soft delete; null while the record is live. Never sent to clients: a soft-deleted record reaches them as its id in `deleted`. |',
    '',
    'Stamps come from a per-user clock the server keeps (see `docs/data-model.md`). WatermelonDB\'s `_status` and `_changed` may be pushed; the server uses `_changed` as the set of changed columns and never stores either.',
    '',
    '## Conflict groups',
    '',
    'Columns of one group move as a unit when a conflict is resolved.',
    '',
    '| Group | Meaning |',
    '|---|---|',
    ...Object.entries(GROUP_DOCS).map(([g, d]) => `| \`${g}\` | ${cell(d)} |`),
    '',
    `Free string columns hold at most ${MAX_STRING_BYTES} UTF-8 bytes unless the table says otherwise. Unknown tables or columns, wrong types and oversized values are a 400.`,
    '',
    '## Versions',
    '',
    'A version only adds nullable columns (the column\'s `since`). A client pulls with its own `schema_version` and receives exactly the columns of that version, so an app not yet upgraded keeps working. The client ships the WatermelonDB migrations (`syncMigrations` in `client/schema.ts`, derived from `since`); with `migrationsEnabledAtVersion` its first sync after the upgrade is a migration sync (docs/sync-protocol.md, P8) that fetches the new columns of records pulled before.',
    '',
    '| Version | Adds |',
    '|---|---|',
    `| 1 | ${TABLES.map((t) => `\`${t.name}\``).join(', ')} |`,
    ...SCHEMA_MIGRATIONS.map((m) => `| ${m.toVersion} | ${m.addColumns.flatMap((a) => a.columns.map((c) => `\`${a.table}.${c.name}\``)).join(', ')} |`),
  ];
  for (const t of TABLES) {
    lines.push(
      '',
      `## \`${t.name}\``,
      '',
      cell(t.doc),
      '',
      t.clientWritable ? `Written by clients; conflict policy \`${t.policy}\`.` : `Server-owned: clients only pull it (a pushed change is a 400); conflict policy \`${t.policy}\`.`,
      '',
      '| Column | Type | Nullable | Values | Conflict group | Description |',
      '|---|---|---|---|---|---|',
    );
    for (const c of t.columns) {
      const doc = `${c.doc}${c.indexed ? ' Indexed on the client.' : ''}${c.since ? ` Since schema v${c.since}.` : ''}`;
      lines.push(`| \`${c.name}\` | ${c.type} | ${c.nullable ? 'yes' : 'no'} | ${cell(describeValues(c))} | \`${c.group}\` | ${cell(doc)} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------

/**
 * docs/events.schema.json: a change event as an EventBridge rule target receives it (the envelope
 * fields a consumer reads, and `detail` from `changeDetailSchema`), with the delivery guarantees.
 */
export function renderEventsSchema(): string {
  const detail = z.toJSONSchema(changeDetailSchema, { target: 'draft-2020-12' }) as JsonSchema;
  delete detail.$schema;
  const schema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://runningcoach.example/schemas/change-event.json',
    title: 'RunningCoach Sync change event',
    description: `${GENERATED_NOTE} One event per committed change of a synced record, on the stack's EventBridge bus (output \`EventBusName\`; locally \`GET /local/events\`). Delivery is at least once: deduplicate on \`detail.event_id\` (the EventBridge envelope \`id\` differs per delivery in AWS). Order is not guaranteed across records, nor by EventBridge itself: order one record's events by \`detail.version\`, which grows with every change of the record, and ignore an event older than the version already applied. Internal items (clocks, id claims, conflict-log entries, recording claims) never become events.`,
    type: 'object',
    properties: {
      id: { type: 'string', description: 'EventBridge assigns its own id per event in AWS; the local feed uses `detail.event_id`.' },
      source: { const: EVENT_SOURCE },
      'detail-type': {
        type: 'string',
        enum: [...DETAIL_TYPES],
        description: '`<table>.created|updated|deleted`; an `uploads` record whose `status` becomes `processed` or `failed` is `uploads.processed` / `uploads.failed` instead of `uploads.updated`.',
      },
      time: { type: 'string', format: 'date-time' },
      detail: detail,
    },
    required: ['id', 'source', 'detail-type', 'time', 'detail'],
    examples: [
      {
        id: 'planned_workouts:w2:1767225600123:runner-1',
        source: EVENT_SOURCE,
        'detail-type': 'planned_workouts.updated',
        time: '2026-01-01T00:00:00.123Z',
        detail: {
          event_id: 'planned_workouts:w2:1767225600123:runner-1',
          user_id: 'runner-1',
          table: 'planned_workouts',
          record_id: 'w2',
          change: 'updated',
          version: 1767225600123,
          previous_version: 1767139200000,
          changed: ['scheduled_on'],
          values: { plan_id: 'p1', scheduled_on: '2027-03-04', workout_type: 'intervals', target_distance_m: 8000, target_duration_s: null, description: null, completed_activity_id: null },
          writer: 'plan-engine',
        },
      },
    ],
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

export const OUTPUTS: readonly { readonly path: string; readonly render: () => string }[] = [
  { path: OPENAPI_PATH, render: renderOpenApi },
  { path: EVENTS_SCHEMA_PATH, render: renderEventsSchema },
  { path: SCHEMA_MD_PATH, render: renderSchemaMarkdown },
  { path: CONFLICTS_MD_PATH, render: renderConflictsMarkdown },
];

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function main(): void {
  for (const o of OUTPUTS) {
    const file = join(REPO_ROOT, o.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, o.render());
    console.log(`wrote ${o.path}`);
  }
  const missing = undocumentedRoutes();
  if (missing.length > 0) {
    console.error(`API_ROUTES entries without an operation in scripts/gen-docs.ts (absent from ${OPENAPI_PATH}): ${missing.join(', ')}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
