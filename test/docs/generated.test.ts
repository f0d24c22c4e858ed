/**
 * docs/openapi.json, docs/schema.md and docs/conflicts.md are generated from the code
 * (scripts/gen-docs.ts, scripts/docs/): the committed files must be exactly what the generator
 * makes now, must cover every route, must be structurally OpenAPI 3.1, and their record, error and
 * conflict-log schemas must agree with the validators and the error mapper that actually run; the
 * conflict decision table must cover every rule, entity and conflict kind. No network.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { loadConfig } from '../../lambdas/config.js';
import { CONFLICT_RULES, type LostChange } from '../../lambdas/core/conflict.js';
import {
  DEFAULT_CONFLICTS_PER_PAGE,
  listCursor,
  MAX_CONFLICTS_PER_PAGE,
  MAX_REPORTS_PER_REQUEST,
  parseListQuery,
  parseReportBody,
  toReport,
} from '../../lambdas/core/conflict-log.js';
import { parsePushBody, pushBodySchema } from '../../lambdas/core/contract.js';
import * as errors from '../../lambdas/core/errors.js';
import { normalizeChanges } from '../../lambdas/core/plan-push.js';
import { emptyChanges } from '../../lambdas/core/pull.js';
import { versionsOf } from '../../lambdas/core/push.js';
import { toPulledRaw } from '../../lambdas/core/records.js';
import { parseServerWriteMessage, parseServerWriteRequest, SERVER_WRITE_SOURCES } from '../../lambdas/core/server-write.js';
import { changeEventOf, DETAIL_TYPES } from '../../lambdas/core/change-feed.js';
import { MAX_STRING_BYTES, RECORD_ID_PATTERN, SERVER_STAMP_COLUMNS, TABLES, type TableDef, type TableName } from '../../lambdas/core/schema.js';
import { errorResponse } from '../../lambdas/http/response.js';
import { API_ROUTES } from '../../lambdas/routes.js';
import { CONFLICT_KINDS, CONFLICTS_MD_PATH, decisionTable, renderConflictsMarkdown } from '../../scripts/docs/conflicts.js';
import {
  errorFamily,
  exampleColumns,
  examplePulledRaw,
  examplePushedRaw,
  LOCAL_SERVER_WRITE_PATH,
  LOCAL_EVENTS_PATH,
  EVENTS_SCHEMA_PATH,
  LOCAL_TOKEN_PATH,
  LOCAL_USER_ID_PATTERN,
  OUTPUTS,
  pulledRawName,
  pushedRawName,
  renderOpenApi,
  renderSchemaMarkdown,
  REPO_ROOT,
  type JsonSchema,
} from '../../scripts/gen-docs.js';

const committed = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const doc = JSON.parse(committed('docs/openapi.json')) as JsonSchema;
const schemas = (doc.components as { schemas: Record<string, JsonSchema> }).schemas;
const paths = doc.paths as Record<string, Record<string, JsonSchema>>;

/** Resolves local `$ref`s (`#/...`) so zod can read a component on its own. The document has no cycles. */
function deref(node: unknown, root: JsonSchema = doc, seen: readonly string[] = []): unknown {
  if (Array.isArray(node)) return node.map((n) => deref(n, root, seen));
  if (node === null || typeof node !== 'object') return node;
  const o = node as JsonSchema;
  if (typeof o.$ref === 'string') {
    if (seen.includes(o.$ref)) throw new Error(`cyclic $ref ${o.$ref}`);
    const { $ref: _ref, ...rest } = o;
    return { ...(deref(resolvePointer(root, o.$ref), root, [...seen, o.$ref]) as JsonSchema), ...(deref(rest, root, seen) as JsonSchema) };
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, deref(v, root, seen)]));
}

function resolvePointer(root: JsonSchema, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`non-local $ref ${ref}`);
  let v: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (v === null || typeof v !== 'object' || !(key in (v as object))) throw new Error(`unresolved $ref ${ref}`);
    v = (v as JsonSchema)[key];
  }
  return v;
}

/** A zod validator built from a JSON Schema of the document (an independent reading of the schema). */
function validator(schema: unknown): z.ZodType {
  return z.fromJSONSchema(deref(schema) as Parameters<typeof z.fromJSONSchema>[0]);
}
const componentValidator = (name: string) => {
  expect(schemas[name], `components.schemas.${name}`).toBeDefined();
  return validator(schemas[name]);
};
const ok = (schema: z.ZodType, value: unknown) => schema.safeParse(value).success;

function firstDifference(a: string, b: string): string {
  const al = a.split('\n');
  const bl = b.split('\n');
  for (let i = 0; i < Math.max(al.length, bl.length); i++) {
    if (al[i] !== bl[i]) return `line ${i + 1}:\n  committed: ${al[i] ?? '<end of file>'}\n  generated: ${bl[i] ?? '<end of file>'}`;
  }
  return 'no difference';
}

describe('generated docs are up to date', () => {
  it.each(OUTPUTS.map((o) => [o.path, o.render] as const))('%s is what the generator makes from the code', (path, render) => {
    const generated = render();
    const onDisk = committed(path);
    expect(onDisk === generated, `${path} is out of date with the code: run \`npm run docs\` and commit the result (first difference at ${firstDifference(onDisk, generated)})`).toBe(true);
  });

  it('renders deterministically: same bytes twice, 2-space JSON, trailing newline', () => {
    expect(renderOpenApi()).toBe(renderOpenApi());
    expect(renderSchemaMarkdown()).toBe(renderSchemaMarkdown());
    expect(renderConflictsMarkdown()).toBe(renderConflictsMarkdown());
    expect(renderConflictsMarkdown().endsWith('\n')).toBe(true);
    const text = renderOpenApi();
    expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
    expect(renderSchemaMarkdown().endsWith('\n')).toBe(true);
  });
});

describe('openapi.json is structurally OpenAPI 3.1', () => {
  const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
  const operations = Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([k]) => METHODS.includes(k))
      .map(([method, op]) => ({ path, method, op })),
  );

  it('has the 3.1 root fields', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const info = doc.info as JsonSchema;
    expect(typeof info.title).toBe('string');
    expect(typeof info.version).toBe('string');
    expect(typeof doc.paths).toBe('object');
    expect(typeof doc.components).toBe('object');
    for (const key of Object.keys(doc)) {
      expect(['openapi', 'info', 'jsonSchemaDialect', 'servers', 'paths', 'webhooks', 'components', 'security', 'tags', 'externalDocs'].includes(key) || key.startsWith('x-'), `root field ${key}`).toBe(true);
    }
  });

  it('has well-formed path items and operations', () => {
    for (const [path, item] of Object.entries(paths)) {
      expect(path.startsWith('/'), path).toBe(true);
      for (const key of Object.keys(item)) {
        expect([...METHODS, '$ref', 'summary', 'description', 'servers', 'parameters'].includes(key) || key.startsWith('x-'), `${path}: field ${key}`).toBe(true);
      }
    }
    expect(operations.length).toBeGreaterThan(0);
    const ids = operations.map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, method, op } of operations) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(typeof op.operationId, where).toBe('string');
      const responses = op.responses as Record<string, JsonSchema>;
      expect(Object.keys(responses).length, where).toBeGreaterThan(0);
      for (const [status, response] of Object.entries(responses)) {
        expect(status, where).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
        expect(typeof response.description, `${where} ${status}`).toBe('string');
      }
      for (const p of (op.parameters as JsonSchema[] | undefined) ?? []) {
        expect(typeof p.name, where).toBe('string');
        expect(['query', 'header', 'path', 'cookie'], where).toContain(p.in);
        expect(('schema' in p) !== ('content' in p), `${where} parameter ${String(p.name)}: exactly one of schema/content`).toBe(true);
      }
    }
  });

  it('resolves every $ref and names only declared security schemes', () => {
    const refs: string[] = [];
    const walk = (n: unknown): void => {
      if (Array.isArray(n)) n.forEach(walk);
      else if (n && typeof n === 'object') {
        for (const [k, v] of Object.entries(n)) {
          if (k === '$ref' && typeof v === 'string') refs.push(v);
          else walk(v);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(0);
    for (const r of refs) expect(() => resolvePointer(doc, r), r).not.toThrow();

    const schemes = (doc.components as { securitySchemes: Record<string, JsonSchema> }).securitySchemes;
    expect(schemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    const requirements = [...((doc.security as JsonSchema[]) ?? []), ...operations.flatMap(({ op }) => (op.security as JsonSchema[] | undefined) ?? [])];
    for (const req of requirements) for (const name of Object.keys(req)) expect(schemes[name], `security scheme ${name}`).toBeDefined();
  });
});

describe('openapi.json covers the routes', () => {
  it('documents every API_ROUTES entry, under the bearer scheme', () => {
    for (const r of API_ROUTES) {
      const op = paths[r.path]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      expect(op?.security, `${r.method} ${r.path} uses the global bearer security`).toBeUndefined();
      expect(op?.['x-local-only']).toBeUndefined();
    }
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
  });

  it('documents POST /local/token as local-only, unauthenticated, absent from the deployed stack', () => {
    const item = paths[LOCAL_TOKEN_PATH] as Record<string, JsonSchema>;
    const op = item.post as JsonSchema;
    expect(op).toBeDefined();
    expect(op['x-local-only']).toBe(true);
    expect(item['x-local-only']).toBe(true);
    expect(op.description).toMatch(/does not exist in the deployed stack/);
    expect(op.security).toEqual([]);
    expect(API_ROUTES.some((r) => r.path === LOCAL_TOKEN_PATH)).toBe(false);
    // The local server still serves it, with the user id rule the doc states.
    const server = readFileSync(join(REPO_ROOT, 'local/server.ts'), 'utf8');
    expect(server).toContain(`'${LOCAL_TOKEN_PATH}'`);
    expect(server).toContain(`/${LOCAL_USER_ID_PATTERN.source}/`);
    const request = componentValidator('LocalTokenRequest');
    expect(ok(request, { user_id: 'runner-1' })).toBe(true);
    expect(ok(request, { user_id: 'no spaces' })).toBe(false);
    expect(ok(request, {})).toBe(false);
  });

  it('documents the pull query, the ignored push query and the push body', () => {
    const pull = paths['/api/v1/sync']?.get as JsonSchema;
    expect(((pull.parameters as JsonSchema[]) ?? []).map((p) => p.name)).toEqual(['last_pulled_at', 'schema_version', 'migration', 'cursor', 'device_id']);
    const push = paths['/api/v1/sync']?.post as JsonSchema;
    expect(((push.parameters as JsonSchema[]) ?? []).map((p) => [p.name, p.required])).toEqual([['last_pulled_at', false]]);
    expect((push.requestBody as JsonSchema).required).toBe(true);
    const responses = push.responses as Record<string, JsonSchema>;
    const response = validator((responses['200']?.content as Record<string, JsonSchema>)['application/json']?.schema);
    expect(response.safeParse({ timestamp: 5, versions: {} }).success).toBe(true);
    expect(response.safeParse({ timestamp: 5 }).success, 'the handler always sends `versions`').toBe(false);
  });
});

describe('openapi.json documents every error the code can return', () => {
  const family = errorFamily();
  const allResponses = Object.values(paths).flatMap((item) =>
    Object.values(item)
      .filter((op) => op && typeof op === 'object' && 'responses' in op)
      .map((op) => op.responses as Record<string, JsonSchema>),
  );
  const documented = (status: number) => allResponses.map((r) => r[String(status)]).filter((r): r is JsonSchema => r !== undefined);
  const codesIn = (status: number) =>
    documented(status).flatMap((r) => JSON.stringify(r).match(/"enum":\[[^\]]*\]/g) ?? []).flatMap((m) => JSON.parse(m.slice(7)) as string[]);

  it('lists the whole error family of lambdas/core/errors.ts in the error schema', () => {
    const enumCodes = ((schemas.ErrorObject?.properties as Record<string, JsonSchema>).code?.enum ?? []) as string[];
    expect([...enumCodes].sort()).toEqual(family.map((e) => e.code).sort());
    const description = (doc.info as JsonSchema).description as string;
    for (const e of family) expect(description).toContain(`| ${e.status} | \`${e.code}\` |`);
  });

  it.each([
    [400, ['validation_error', 'invalid_cursor']],
    [401, ['unauthorized']],
    [403, ['forbidden']],
    [413, ['payload_too_large']],
    [415, ['unsupported_media_type']],
    [429, ['throttled']],
    [500, ['internal_error']],
    [503, ['push_deadline_exceeded', 'contention']],
  ] as const)('%i responses carry %j', (status, codes) => {
    expect(documented(status).length).toBeGreaterThan(0);
    for (const c of codes) expect(codesIn(status)).toContain(c);
    for (const c of codes) expect(family.find((e) => e.code === c)?.status).toBe(status);
  });

  it('404 and 405 are documented as reusable responses and in the error table', () => {
    const responses = (doc.components as { responses: Record<string, JsonSchema> }).responses;
    expect(JSON.stringify(responses.NotFound)).toContain('"not_found"');
    expect(JSON.stringify(responses.MethodNotAllowed)).toContain('"method_not_allowed"');
    const description = (doc.info as JsonSchema).description as string;
    expect(description).toContain('| 404 | `not_found` |');
    expect(description).toContain('| 405 | `method_not_allowed` |');
  });

  it('documents Retry-After on 429 and 503, as the error mapper sends it (the local-only routes send none and say so)', () => {
    for (const status of [429, 503]) {
      for (const [path, item] of Object.entries(paths)) {
        for (const op of Object.values(item)) {
          const r = (op && typeof op === 'object' && 'responses' in op ? (op.responses as Record<string, JsonSchema>) : {})[String(status)];
          if (!r) continue;
          if (item['x-local-only']) {
            expect(r.headers, `${path} ${status}`).toBeUndefined();
            expect(r.description, `${path} ${status}`).toMatch(/No `Retry-After` header/);
          } else expect((r.headers as JsonSchema | undefined)?.['Retry-After'], `${path} ${status}`).toBeDefined();
        }
      }
    }
    expect(errorResponse(new errors.ThrottledError('busy', 3)).headers['retry-after']).toBe('3');
    expect(errorResponse(new errors.PushDeadlineError('late')).headers['retry-after']).toBe('1');
  });

  it('the error mapper’s bodies match the documented schemas', () => {
    const body = componentValidator('ErrorResponse');
    const push = (paths['/api/v1/sync']?.post as JsonSchema).responses as Record<string, JsonSchema>;
    const push400 = validator((push['400']?.content as Record<string, JsonSchema>)['application/json']?.schema);
    let invalid: unknown;
    try {
      parsePushBody({ changes: { activities: { created: [{ id: 'a1', distance_m: 'far', bogus: 1 }] }, nope: {} }, last_pulled_at: null });
    } catch (e) {
      invalid = e;
    }
    expect(invalid).toBeInstanceOf(errors.ValidationError);
    const validation = JSON.parse(errorResponse(invalid).body) as unknown;
    expect(ok(body, validation), JSON.stringify(validation)).toBe(true);
    expect(ok(push400, validation)).toBe(true);
    for (const e of [new errors.ThrottledError('busy'), new errors.PushDeadlineError('late'), new errors.InternalError('secret'), new Error('secret')]) {
      const b = JSON.parse(errorResponse(e).body) as unknown;
      expect(ok(body, b), JSON.stringify(b)).toBe(true);
    }
    expect(ok(push400, JSON.parse(errorResponse(new errors.ThrottledError('busy')).body))).toBe(false);
    expect(ok(componentValidator('GatewayErrorResponse'), { message: 'Unauthorized' })).toBe(true);
  });
});

describe('record schemas agree with the code', () => {
  const writable = TABLES.filter((t) => t.clientWritable);
  const pushBody = (table: string, raw: unknown) => ({ changes: { [table]: { created: [raw], updated: [], deleted: [] } }, last_pulled_at: null });

  it.each(TABLES.map((t) => [t.name, t] as const))('pulled %s raws: accepts what the server returns, rejects unknown or missing columns', (_name, t: TableDef) => {
    const raw = componentValidator(pulledRawName(t.name));
    const served = toPulledRaw({ table: t.name as TableName, id: 'Rec0rd_1', data: exampleColumns(t), created_at: 10, updated_at: 20, deleted_at: null });
    expect(ok(raw, served), JSON.stringify(served)).toBe(true);
    expect(ok(raw, examplePulledRaw(t))).toBe(true);
    expect(ok(raw, { ...served, bogus_column: 1 })).toBe(false);
    expect(ok(raw, { ...served, deleted_at: null })).toBe(false);
    const { [t.columns[0]?.name as string]: _dropped, ...missing } = served;
    expect(ok(raw, missing)).toBe(false);
    const required = (schemas[pulledRawName(t.name)]?.required ?? []) as string[];
    expect([...required].sort()).toEqual(['id', ...SERVER_STAMP_COLUMNS, ...t.columns.map((c) => c.name)].sort());
  });

  it.each(writable.map((t) => [t.name, t] as const))('pushed %s raws: the documented schema and the real validator agree', (_name, t: TableDef) => {
    const raw = componentValidator(pushedRawName(t.name));
    const cases: [string, unknown, boolean][] = [
      ['a full created raw', examplePushedRaw(t), true],
      ['an id alone (columns are optional)', { id: 'abc' }, true],
      ['client stamps (ignored)', { id: 'abc', created_at: 1, updated_at: 2 }, true],
      ['an unknown column', { ...examplePushedRaw(t), bogus_column: 1 }, false],
      ['no id', { [t.columns[0]?.name as string]: exampleColumns(t)[t.columns[0]?.name as string] }, false],
      ['a bad id', { id: 'has space' }, false],
      ['a wrong type', { id: 'abc', [t.columns[0]?.name as string]: { nested: true } }, false],
    ];
    const properties = (schemas[pushedRawName(t.name)]?.properties ?? {}) as Record<string, JsonSchema>;
    for (const c of t.columns) {
      const prop = properties[c.name] ?? {};
      const stringPart = [prop, ...((prop.anyOf as JsonSchema[] | undefined) ?? [])].find((b) => typeof b['x-max-bytes'] === 'number');
      if (!stringPart) continue;
      const limit = stringPart['x-max-bytes'] as number;
      const json = stringPart.contentMediaType === 'application/json';
      const fill = (n: number) => (json ? JSON.stringify('a'.repeat(n - 2)) : 'a'.repeat(n));
      cases.push([`${c.name} at its limit`, { id: 'abc', [c.name]: fill(limit) }, true], [`${c.name} over its limit`, { id: 'abc', [c.name]: fill(limit + 1) }, false]);
    }
    for (const [what, value, expected] of cases) {
      expect(ok(raw, value), `documented schema, ${what}`).toBe(expected);
      expect(ok(pushBodySchema, pushBody(t.name, value)), `pushBodySchema, ${what}`).toBe(expected);
    }
  });

  it('server-owned tables take empty arrays only, in the schema; the code rejects each such record alone', () => {
    const body = componentValidator('PushRequest');
    for (const t of TABLES.filter((x) => !x.clientWritable)) {
      expect(ok(body, { changes: { [t.name]: { created: [], updated: [], deleted: [] } }, last_pulled_at: null })).toBe(true);
      const change = { changes: { [t.name]: { created: [{ id: 'abc' }], updated: [], deleted: [] } }, last_pulled_at: null };
      expect(ok(body, change)).toBe(false);
      const parsed = parsePushBody(change);
      expect(parsed.rejected).toEqual([expect.objectContaining({ table: t.name, id: 'abc', details: [expect.objectContaining({ message: expect.stringMatching(/server-owned/) })] })]);
      expect(normalizeChanges(parsed.changes)).toEqual([]);
      expect(schemas[pushedRawName(t.name)]).toBeUndefined();
    }
  });

  it('the documented push body accepts what the code accepts and rejects unknown tables', () => {
    const body = componentValidator('PushRequest');
    const example = (schemas.PushRequest?.examples as unknown[])[0];
    expect(ok(body, example)).toBe(true);
    expect(() => parsePushBody(example)).not.toThrow();
    const watermelon = { changes: Object.fromEntries(TABLES.map((t) => [t.name, { created: [], updated: [], deleted: [] }])), last_pulled_at: 5 };
    expect(ok(body, watermelon)).toBe(true);
    expect(ok(pushBodySchema, watermelon)).toBe(true);
    expect(ok(body, { changes: { nope: { created: [] } }, last_pulled_at: null })).toBe(false);
    expect(ok(pushBodySchema, { changes: { nope: { created: [] } }, last_pulled_at: null })).toBe(false);
    expect(ok(body, { changes: {} })).toBe(false);
  });

  it('the documented pull response accepts what the pull returns', () => {
    const response = componentValidator('PullResponse');
    expect(ok(response, { changes: emptyChanges(), timestamp: 7 })).toBe(true);
    expect(ok(response, { changes: emptyChanges(), timestamp: 7, cursor: 'abc.def' })).toBe(true);
    expect(ok(response, (schemas.PullResponse?.examples as unknown[])[0])).toBe(true);
    const created = emptyChanges();
    created.activities.created.push(toPulledRaw({ table: 'activities', id: 'a1', data: exampleColumns(TABLES[0] as TableDef), created_at: 1, updated_at: 2, deleted_at: null }));
    expect(ok(response, { changes: created, timestamp: 7 }), '`created` is always empty').toBe(false);
    const { activities: _missing, ...partial } = emptyChanges();
    expect(ok(response, { changes: partial, timestamp: 7 }), 'every table appears').toBe(false);
  });
});

describe('schema.md', () => {
  const md = committed('docs/schema.md');

  it('says it is generated by `npm run docs`', () => {
    expect(md.split('\n').slice(0, 4).join('\n')).toMatch(/generated by `npm run docs`/i);
  });

  it('has the id rule, the server-owned columns and one table per synced table, every column in it', () => {
    expect(md).toContain(RECORD_ID_PATTERN.source);
    for (const c of [...SERVER_STAMP_COLUMNS, 'deleted_at']) expect(md).toContain(`| \`${c}\` |`);
    expect(md).toContain(String(MAX_STRING_BYTES));
    for (const t of TABLES) {
      const section = md.split(`## \`${t.name}\``)[1]?.split('\n## ')[0];
      expect(section, t.name).toBeDefined();
      expect(section).toContain('| Column | Type | Nullable | Values | Conflict group | Description |');
      for (const c of t.columns) {
        expect(section).toContain(`| \`${c.name}\` | ${c.type} | ${c.nullable ? 'yes' : 'no'} |`);
        expect(section).toContain(`| \`${c.group}\` |`);
      }
    }
  });
});

describe('conflicts.md', () => {
  const md = committed(CONFLICTS_MD_PATH);
  const section = (heading: string) => {
    const body = md.split(`\n${heading}\n`)[1]?.split('\n## ')[0];
    expect(body, heading).toBeDefined();
    return body as string;
  };
  const tableRows = (text: string) => text.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('|---'));
  const rowOf = (entity: string, kind: string) => {
    const row = tableRows(section('## Decision table')).find((l) => l.startsWith(`| ${entity} | ${kind} |`));
    expect(row, `${entity} ${kind}`).toBeDefined();
    return row as string;
  };

  it('is a generated output and says so', () => {
    expect(OUTPUTS.map((o) => o.path)).toContain(CONFLICTS_MD_PATH);
    expect(md.split('\n').slice(0, 4).join('\n')).toMatch(/generated by `npm run docs`/i);
  });

  it('the decision table mentions every rule in CONFLICT_RULES', () => {
    const table = section('## Decision table');
    for (const rule of CONFLICT_RULES) expect(table, rule).toContain(`\`${rule}\``);
    const rules = section('## Rules');
    for (const rule of CONFLICT_RULES) expect(rules, rule).toContain(`| \`${rule}\` |`);
  });

  it('has a row for every table and every conflict kind (activities: recorded group and other columns)', () => {
    const rows = decisionTable();
    for (const t of TABLES) {
      for (const kind of CONFLICT_KINDS) expect(rows.some((r) => r.table === t.name && r.kind === kind), `${t.name} ${kind}`).toBe(true);
    }
    for (const kind of CONFLICT_KINDS) {
      rowOf('`activities`, recorded group', kind);
      rowOf('`activities`, other columns', kind);
    }
  });

  // The policy of issue 3, stated independently of the generator: the computed rows must say it.
  it.each([
    ['`activities`, recorded group', 'update/update', ['activity-recorded-source-priority', "server: recorded group"]],
    ['`activities`, other columns', 'update/update', ['activity-fields-client-wins', 'device: `title`']],
    ['`activities`, other columns', 'delete/update', ['**delete**', 'delete-wins']],
    ['`activities`, recorded group', 'update/delete', ['stays deleted', 'delete-wins']],
    ['`plans`', 'update/update', ['**discard**', 'plan-server-wins']],
    ['`plans`', 'delete/update', ['re-stamped', 'plan-server-wins', "the device's delete"]],
    ['`planned_workouts`', 'delete/update', ['re-stamped', 'plan-server-wins']],
    ['`plans`', 'update/delete', ['stays deleted']],
    ['`settings`', 'update/update', ['device: `value`', 'settings-last-write-wins']],
    ['`settings`', 'delete/update', ['**delete**', 'settings-last-write-wins']],
    ['`settings`', 'update/delete', ['**resurrect**', "the server's delete"]],
    ['`uploads`', 'update/update', ['400 `validation_error`']],
    ['`uploads`', 'delete/update', ['400 `validation_error`']],
  ] as const)('%s %s says %j', (entity, kind, phrases) => {
    const row = rowOf(entity, kind);
    for (const p of phrases) expect(row).toContain(p);
  });

  it('the source-priority matrix follows garmin > manual > null, equal priority to the device', () => {
    const rows = tableRows(section('## Source priority (activities, recorded group)'));
    const cellOf = (device: string, server: string) => {
      const header = (rows[0] as string).split(' | ').map((c) => c.replace(/^\| /, '').replace(/ \|$/, ''));
      const row = rows.find((r) => r.startsWith(`| ${device} |`));
      expect(row, device).toBeDefined();
      return (row as string).split(' | ')[header.indexOf(server)] as string;
    };
    const order = ['`garmin`', '`manual`', 'null'];
    for (const [i, device] of order.entries()) {
      for (const [j, server] of order.entries()) {
        expect(cellOf(device, server), `${device} vs ${server}`).toContain(i <= j ? "device's group" : "server's group");
      }
    }
  });

  it('documents server-side writes for every source; only restores resurrect a deleted record', () => {
    const text = section('## Server-side writes');
    for (const source of Object.keys(SERVER_WRITE_SOURCES)) {
      const deleted = tableRows(text).find((l) => l.startsWith(`| \`${source}\` | deleted (tombstone) |`));
      expect(deleted, source).toBeDefined();
      expect(deleted).toContain(source === 'restore' ? '`resurrect`' : '`ignored`');
    }
    expect(text).toContain('| `plan-engine` | `plans` and `planned_workouts` | yes |');
    expect(text).toContain('| `garmin` | `activities` | yes |');
  });

  it('states the limits, the TTL and the known limitations from the code', () => {
    const ttlDays = loadConfig({ TABLE_NAME: 'x'.repeat(3), CURSOR_SECRET: 'x'.repeat(32) }).push.conflictTtlMs / 86_400_000;
    expect(md).toContain(`\`CONFLICT_TTL_DAYS\` (default ${ttlDays})`);
    expect(md).toContain(`1–${MAX_CONFLICTS_PER_PAGE}, default ${DEFAULT_CONFLICTS_PER_PAGE}`);
    expect(md).toContain(`1–${MAX_REPORTS_PER_REQUEST} entries`);
    const limits = section('## Known limitations');
    expect(limits).toContain('Plans are judged per record, by their rule');
    expect(limits).toContain('Other entities are judged per column');
    expect(limits).toContain('next sync, not the same one');
    expect(limits).toContain('`upload_id` and `sport` are client wins');
    for (const h of ['## Where the rules run', "## A device's own writes: `device_id`, `versions`, `_own_since` and `base_versions`", '## The conflict log']) section(h);
  });
});

describe('openapi.json documents the conflict log and the push extensions', () => {
  const lost: LostChange = { rule: 'plan-server-wins', losingAction: 'update', losing: { goal: 'Finish strong' }, winning: { goal: 'Sub-48 10K' } };
  const report = toReport('plans', 'Pl4nQ9rT4mB1nZx7', 1735722000456, lost);
  const entry = { ...report, at: 1735722003456, resolved_by: 'server' };
  const accepts = (parse: (v: unknown) => unknown, value: unknown) => {
    try {
      parse(value);
      return true;
    } catch (e) {
      if (e instanceof errors.ValidationError) return false;
      throw e;
    }
  };

  it('documents the three conflict routes under the bearer scheme', () => {
    expect(paths['/api/v1/conflicts']?.get?.operationId).toBe('listConflicts');
    expect(paths['/api/v1/conflicts']?.post?.operationId).toBe('reportConflicts');
    const restore = paths['/api/v1/conflicts/{id}/restore']?.post as JsonSchema;
    expect(restore.operationId).toBe('restoreConflict');
    expect(((restore.parameters as JsonSchema[]) ?? []).map((p) => [p.name, p.in, p.required])).toEqual([['id', 'path', true]]);
    const responses = restore.responses as Record<string, JsonSchema>;
    expect(JSON.stringify(responses['404'])).toContain('"not_found"');
    expect(JSON.stringify(responses['403'])).toContain('"forbidden"');
    expect((responses['503']?.headers as JsonSchema)['Retry-After']).toBeDefined();
  });

  it('the list query agrees with parseListQuery', () => {
    const list = paths['/api/v1/conflicts']?.get as JsonSchema;
    const params = (list.parameters as JsonSchema[]) ?? [];
    expect(params.map((p) => p.name)).toEqual(['since', 'limit', 'cursor']);
    const limit = params.find((p) => p.name === 'limit')?.schema as JsonSchema;
    expect(limit).toMatchObject({ minimum: 1, maximum: MAX_CONFLICTS_PER_PAGE, default: DEFAULT_CONFLICTS_PER_PAGE });
    expect(parseListQuery({}).limit).toBe(DEFAULT_CONFLICTS_PER_PAGE);
    expect(accepts((q) => parseListQuery(q as Record<string, string>), { limit: String(MAX_CONFLICTS_PER_PAGE) })).toBe(true);
    expect(accepts((q) => parseListQuery(q as Record<string, string>), { limit: String(MAX_CONFLICTS_PER_PAGE + 1) })).toBe(false);
    const cursor = listCursor({ at: entry.at, id: report.id });
    const cursorSchema = validator(params.find((p) => p.name === 'cursor')?.schema);
    expect(ok(cursorSchema, cursor)).toBe(true);
    expect(parseListQuery({ cursor }).after).toEqual({ at: entry.at, id: report.id });
    expect(ok(cursorSchema, 'abc')).toBe(false);
    expect(accepts((q) => parseListQuery(q as Record<string, string>), { cursor: 'abc' })).toBe(false);
  });

  it('the report body: the documented schema and parseReportBody agree', () => {
    const body = componentValidator('ConflictReportRequest');
    const one = (patch: Record<string, unknown>) => ({ conflicts: [{ ...report, ...patch }] });
    const cases: [string, unknown, boolean][] = [
      ['a real report', { conflicts: [report] }, true],
      ['the documented example', (schemas.ConflictReportRequest?.examples as unknown[])[0], true],
      ['a losing delete', one({ losing_action: 'delete', losing: {} }), true],
      ['no reports', { conflicts: [] }, false],
      [`${MAX_REPORTS_PER_REQUEST + 1} reports`, { conflicts: Array.from({ length: MAX_REPORTS_PER_REQUEST + 1 }, () => report) }, false],
      ['a bad id', one({ id: 'XYZ' }), false],
      ['an unknown rule', one({ rule: 'server-always-wins' }), false],
      ['a server-owned table', one({ table: 'uploads', losing: {}, winning: {} }), false],
      ['an unknown table', one({ table: 'nope' }), false],
      ['a bad record id', one({ record_id: 'has space' }), false],
      ['an unknown field', one({ bogus: 1 }), false],
      ['a nested value', one({ losing: { goal: { nested: true } } }), false],
    ];
    for (const [what, value, expected] of cases) {
      expect(ok(body, value), `documented schema, ${what}`).toBe(expected);
      expect(accepts(parseReportBody, value), `parseReportBody, ${what}`).toBe(expected);
    }
    expect(ok(componentValidator('ConflictReportResponse'), { logged: [report.id] })).toBe(true);
  });

  it('entries, pages and restore responses accept what the handlers return', () => {
    const entrySchema = componentValidator('ConflictEntry');
    expect(ok(entrySchema, entry)).toBe(true);
    expect(ok(entrySchema, (schemas.ConflictEntry?.examples as unknown[])[0])).toBe(true);
    const { at: _at, ...noTime } = entry;
    expect(ok(entrySchema, noTime)).toBe(false);
    expect(ok(entrySchema, { ...entry, resolved_by: 'someone' })).toBe(false);
    const page = componentValidator('ConflictListResponse');
    expect(ok(page, { conflicts: [entry], cursor: listCursor({ at: entry.at, id: entry.id }) })).toBe(true);
    expect(ok(page, { conflicts: [] })).toBe(true);
    const restored = componentValidator('ConflictRestoreResponse');
    for (const action of ['update', 'resurrect', 'delete']) expect(ok(restored, { conflict: entry, action, version: 1735722009000 }), action).toBe(true);
    expect(ok(restored, { conflict: entry, action: 'noop' })).toBe(true);
    expect(ok(restored, { conflict: entry, action: 'ignored' }), 'a restore never ignores').toBe(false);
  });

  it('PushRequest carries base_versions as pushBodySchema does; PushResponse carries versions as versionsOf makes them', () => {
    const request = componentValidator('PushRequest');
    const push = (base_versions: unknown) => ({ changes: { plans: { created: [], updated: [], deleted: ['p1'] } }, last_pulled_at: 5, base_versions });
    const cases: [string, unknown, boolean][] = [
      ['a base version', push({ plans: { p1: 4 } }), true],
      ['several tables', push({ plans: { p1: 4 }, settings: { units: 9 } }), true],
      ['a server-owned table', push({ uploads: { u1: 4 } }), false],
      ['an unknown table', push({ nope: {} }), false],
      ['a negative version', push({ plans: { p1: -1 } }), false],
      ['a bad id', push({ plans: { 'has space': 4 } }), false],
    ];
    for (const [what, value, expected] of cases) {
      expect(ok(request, value), `documented schema, ${what}`).toBe(expected);
      expect(ok(pushBodySchema, value), `pushBodySchema, ${what}`).toBe(expected);
    }
    const response = componentValidator('PushResponse');
    const versions = versionsOf([
      { table: 'activities', id: 'a1', action: 'update', version: 7 },
      { table: 'plans', id: 'p1', action: 'discard' },
      { table: 'settings', id: 'units', action: 'noop', version: 3 },
    ]);
    expect(ok(response, { timestamp: 7, versions })).toBe(true);
    expect(ok(response, { timestamp: 7, versions: { uploads: { u1: 7 } } })).toBe(false);
    expect(ok(response, (schemas.PushResponse?.examples as unknown[])[0])).toBe(true);
  });
});

describe('openapi.json documents POST /local/server-write', () => {
  const item = paths[LOCAL_SERVER_WRITE_PATH] as Record<string, JsonSchema>;

  it('as local-only, unauthenticated, absent from the deployed stack', () => {
    const op = item.post as JsonSchema;
    expect(op).toBeDefined();
    expect(op['x-local-only']).toBe(true);
    expect(item['x-local-only']).toBe(true);
    expect(op.description).toMatch(/does not exist in the deployed stack/);
    expect(op.security).toEqual([]);
    expect(API_ROUTES.some((r) => r.path === LOCAL_SERVER_WRITE_PATH)).toBe(false);
    expect(readFileSync(join(REPO_ROOT, 'local/server.ts'), 'utf8')).toContain(`'${LOCAL_SERVER_WRITE_PATH}'`);
    const responses = op.responses as Record<string, JsonSchema>;
    expect(JSON.stringify(responses['400'])).toContain('"validation_error"');
    expect(JSON.stringify(responses['403'])).toContain('"forbidden"');
  });

  it('with a request schema that agrees with parseServerWriteRequest', () => {
    const request = componentValidator('ServerWriteRequest');
    const parses = (v: unknown) => {
      try {
        parseServerWriteRequest(v);
        return true;
      } catch (e) {
        if (e instanceof errors.ValidationError) return false;
        throw e;
      }
    };
    const plan = { user_id: 'runner-1', table: 'plans', source: 'plan-engine', record: { id: 'p1', goal: 'Sub-48 10K' } };
    const garmin = { user_id: 'runner-1', table: 'activities', source: 'garmin', record: { id: 'a1', distance_m: 8012.5 } };
    const cases: [string, unknown, boolean][] = [
      ['a plan-engine write', plan, true],
      ['a garmin write', garmin, true],
      ['the documented example', (schemas.ServerWriteRequest?.examples as unknown[])[0], true],
      ['an id alone', { ...plan, record: { id: 'p1' } }, true],
      ['garmin writing plans', { ...plan, source: 'garmin' }, false],
      ['plan-engine writing activities', { ...garmin, source: 'plan-engine' }, false],
      ['an unknown source', { ...plan, source: 'restore' }, false],
      ['an unknown column', { ...plan, record: { id: 'p1', bogus: 1 } }, false],
      ['a server stamp', { ...plan, record: { id: 'p1', updated_at: 5 } }, false],
      ['an invalid value', { ...garmin, record: { id: 'a1', distance_m: -1 } }, false],
      ['no record id', { ...plan, record: { goal: 'x' } }, false],
      ['an empty user id', { ...plan, user_id: '' }, false],
      ['a 129-character user id', { ...plan, user_id: 'u'.repeat(129) }, false],
      ['an unknown field', { ...plan, bogus: 1 }, false],
    ];
    for (const [what, value, expected] of cases) {
      expect(ok(request, value), `documented schema, ${what}`).toBe(expected);
      expect(parses(value), `parseServerWriteRequest, ${what}`).toBe(expected);
    }
    const response = componentValidator('ServerWriteResponse');
    expect(ok(response, { table: 'plans', id: 'p1', action: 'create', version: 5, conflict_ids: [] })).toBe(true);
    expect(ok(response, { table: 'activities', id: 'a1', action: 'ignored', conflict_ids: [] })).toBe(true);
    expect(ok(response, { table: 'activities', id: 'a1', action: 'update', version: 6, conflict_ids: ['0123456789abcdef0123456789abcdef'] })).toBe(true);
  });
});

describe('the ingress message and the change feed are documented from the code', () => {
  it('ServerWritesRequest (the several-records form, the ingress message body) agrees with parseServerWriteMessage', () => {
    const request = componentValidator('ServerWritesRequest');
    const parses = (v: unknown) => {
      try {
        parseServerWriteMessage(v);
        return true;
      } catch (e) {
        if (e instanceof errors.ValidationError) return false;
        throw e;
      }
    };
    const w = (id: string, o: Record<string, unknown> = {}) => ({ table: 'planned_workouts', record: { id, ...o } });
    const week = { user_id: 'runner-1', source: 'plan-engine', writes: [w('w1', { completed_activity_id: 'run1' }), w('w2', { scheduled_on: '2027-03-04' })] };
    const cases: [string, unknown, boolean][] = [
      ['a re-optimised week', week, true],
      ['the documented example', (schemas.ServerWritesRequest?.examples as unknown[])[0], true],
      ['garmin activities', { user_id: 'runner-1', source: 'garmin', writes: [{ table: 'activities', record: { id: 'a1', distance_m: 5 } }] }, true],
      ['no writes', { ...week, writes: [] }, false],
      ['101 writes', { ...week, writes: Array.from({ length: 101 }, (_, i) => w(`w${i}`)) }, false],
      ['a table the source may not write', { ...week, writes: [{ table: 'activities', record: { id: 'a1' } }] }, false],
      ['an invalid value', { ...week, writes: [w('w1', { scheduled_on: 'soon' })] }, false],
      ['an unknown field in a write', { ...week, writes: [{ ...w('w1'), extra: 1 }] }, false],
      ['an unknown field', { ...week, bogus: 1 }, false],
    ];
    for (const [what, value, expected] of cases) {
      expect(ok(request, value), `documented schema, ${what}`).toBe(expected);
      expect(parses(value), `parseServerWriteMessage, ${what}`).toBe(expected);
    }
    // The one-record form still parses as before, as one write.
    expect(parseServerWriteMessage({ user_id: 'u', table: 'plans', source: 'plan-engine', record: { id: 'p1' } })).toMatchObject({ single: true, writes: [{ table: 'plans', id: 'p1' }] });
  });

  it('docs/events.schema.json: its detail-type list is DETAIL_TYPES, and the events the code makes satisfy it (and nothing else does)', () => {
    const schema = JSON.parse(readFileSync(join(REPO_ROOT, EVENTS_SCHEMA_PATH), 'utf8')) as JsonSchema;
    expect((schema.properties as any)['detail-type'].enum).toEqual([...DETAIL_TYPES]);
    const event = validator(schema);
    const stored = { table: 'planned_workouts' as const, id: 'w1', data: { plan_id: 'p', scheduled_on: '2027-03-01', workout_type: 'easy', target_distance_m: null }, created_at: 5, updated_at: 5, deleted_at: null };
    const made = changeEventOf('runner-1', undefined, stored, 'device')!;
    const entry = { id: made.id, source: made.source, 'detail-type': made.detailType, time: '2026-01-01T00:00:00Z', detail: made.detail };
    expect(ok(event, entry)).toBe(true);
    expect(ok(event, (schema.examples as unknown[])[0])).toBe(true);
    expect(ok(event, { ...entry, detail: { ...entry.detail, writer: 'someone' } })).toBe(false);
    expect(ok(event, { ...entry, 'detail-type': 'clocks.updated' })).toBe(false);
    expect(ok(event, { ...entry, detail: { ...entry.detail, extra: 1 } })).toBe(false);
  });

  it('documents GET /local/events as local-only', () => {
    const item = paths[LOCAL_EVENTS_PATH] as Record<string, JsonSchema>;
    expect((item.get as JsonSchema)['x-local-only']).toBe(true);
    expect(readFileSync(join(REPO_ROOT, 'local/server.ts'), 'utf8')).toContain(`'${LOCAL_EVENTS_PATH}'`);
  });
});
