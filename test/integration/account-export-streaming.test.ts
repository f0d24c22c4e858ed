/**
 * The streamed export (core/account.ts `exportAccountChunks`, `deliverExport`) and its adapters:
 * the disk spool (adapters/export-spool.ts) and the S3 export files (adapters/s3/export-files.ts,
 * lib-storage's multipart Upload) on DynamoDB Local and s3rver. Memory is measured, not timed:
 * how far the document's producer runs ahead of what S3 has acknowledged.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { fileSpool } from '../../lambdas/adapters/export-spool.js';
import { EXPORT_PART_BYTES, EXPORT_PARTS_IN_FLIGHT, S3ExportFiles } from '../../lambdas/adapters/s3/export-files.js';
import { deliverExport, escapedJsonStringBytes, exportAccount, exportAccountChunks, type AccountObjects, type ExportFiles } from '../../lambdas/core/account.js';
import { parsePushBody } from '../../lambdas/core/contract.js';
import { pushChanges } from '../../lambdas/core/push.js';
import { pullDeps, pushDeps, TEST_PULL_CONFIG, uniqueUser, useSyncTable } from '../support/dynamo.js';
import { activityRaw, planRaw, pushBody, settingRaw } from '../support/records.js';
import { useS3rver } from '../support/s3.js';

const dynamo = useSyncTable();
const s3 = useS3rver('export');

const noObjects: AccountObjects = { list: async () => ({ objects: [] }), deleteMany: async () => undefined };

async function seed(label: string, activities: number) {
  const user = uniqueUser(label);
  const created = Array.from({ length: activities }, (_, i) => activityRaw(`${user}-${i}`, { notes: `ünïcødé "q" \\ ${'n'.repeat(400)}` }));
  await pushChanges(user, parsePushBody(pushBody({ activities: { created }, plans: { created: [planRaw(`${user}-p`)] }, settings: { created: [settingRaw('units', 'km')] } }, null)), pushDeps(dynamo().store));
  return user;
}

const exportDeps = (spool?: () => ReturnType<typeof fileSpool>) => ({
  ...pullDeps(dynamo().store, { pageBytes: 4_000 }),
  pull: { ...TEST_PULL_CONFIG, pageBytes: 4_000 },
  objects: noObjects,
  now: () => 1_764_000_000_000,
  ...(spool ? { spool } : {}),
});

describe('streamed account export', () => {
  it('the streamed document is byte for byte JSON.stringify of the export, through a disk spool as through memory; the spool leaves nothing behind', async () => {
    const user = await seed('spool', 25);
    const dir = mkdtempSync(join(tmpdir(), 'spool-test-'));
    let text = '';
    for await (const chunk of exportAccountChunks(user, exportDeps(() => fileSpool({ dir, memoryBytesPerTable: 1_000 })))) {
      text += chunk;
      // While the document streams, the spilled records sit in a directory of their own.
      if (chunk.includes('"settings":[')) expect(readdirSync(dir)).toHaveLength(1);
    }
    const inMemory = await exportAccount(user, exportDeps());
    expect(text).toBe(JSON.stringify(inMemory));
    expect(inMemory.records.activities).toHaveLength(25);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('deliverExport: inline while the escaped response fits, else a file with every byte; a failed file write still frees the spool', async () => {
    const user = await seed('deliver', 12);
    const whole = JSON.stringify(await exportAccount(user, exportDeps()));
    const escaped = 2 + escapedJsonStringBytes(whole);
    expect(escaped).toBe(Buffer.byteLength(JSON.stringify(whole)));

    const written: { key: string; text: string }[] = [];
    const files: ExportFiles = {
      async write(key, chunks) {
        let text = '';
        for await (const c of chunks) text += c;
        written.push({ key, text });
        return { bytes: Buffer.byteLength(text) };
      },
      presignDownload: async (key) => ({ url: `https://files.example/${key}`, expires_at: 1 }),
    };
    const deps = { ...exportDeps(), files, newId: () => 'exp1' };
    expect(await deliverExport(user, deps, { link: false, inlineMaxBytes: escaped })).toEqual({ kind: 'inline', body: whole });
    expect(written).toEqual([]);
    const over = await deliverExport(user, deps, { link: false, inlineMaxBytes: escaped - 1 });
    expect(over).toEqual({ kind: 'link', requested: false, link: { download_url: `https://files.example/exports/${user}/exp1.json`, expires_at: 1, bytes: Buffer.byteLength(whole) } });
    expect(written[0]).toEqual({ key: `exports/${user}/exp1.json`, text: whole });
    expect(await deliverExport(user, deps, { link: true, inlineMaxBytes: 5_000_000 })).toMatchObject({ kind: 'link', requested: true });

    const dir = mkdtempSync(join(tmpdir(), 'spool-fail-'));
    const failing: ExportFiles = {
      async write(_key, chunks) {
        let n = 0;
        for await (const _c of chunks) if (++n === 3) throw new Error('injected: S3 went away');
        return { bytes: 0 };
      },
      presignDownload: async () => ({ url: '', expires_at: 0 }),
    };
    await expect(deliverExport(user, { ...exportDeps(() => fileSpool({ dir, memoryBytesPerTable: 500 })), files: failing, newId: () => 'exp2' }, { link: true, inlineMaxBytes: 5_000_000 })).rejects.toThrow('injected');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('S3ExportFiles on s3rver: a 13 MiB document goes up in 5 MiB parts, byte-exact, the producer never more than the parts in flight ahead of S3', async () => {
    const { client, bucket } = s3();
    let produced = 0;
    let acknowledged = 0;
    let maxAhead = 0;
    const commands: string[] = [];
    // Counts what S3 has taken (each part, or the whole object) when its request returns.
    const counting = Object.create(client) as S3Client;
    counting.send = (async (command: { constructor: { name: string }; input: { Body?: { length?: number; byteLength?: number } } }) => {
      commands.push(command.constructor.name);
      const out = await client.send(command as never);
      acknowledged += command.input.Body?.byteLength ?? command.input.Body?.length ?? 0;
      return out;
    }) as S3Client['send'];
    const hash = createHash('sha256');
    const line = `{"id":"r","notes":"${'é'.repeat(300)}"}`;
    async function* document() {
      for (let i = 0; produced < 13 * 1024 * 1024; i++) {
        const chunk = (i === 0 ? '[' : ',') + line;
        produced += Buffer.byteLength(chunk);
        maxAhead = Math.max(maxAhead, produced - acknowledged);
        hash.update(chunk);
        yield chunk;
      }
      hash.update(']');
      produced += 1;
      yield ']';
    }
    const files = new S3ExportFiles(counting, bucket, { urlTtlSeconds: 120 });
    const { bytes } = await files.write('exports/u/big.json', document(), { fileName: 'big.json' });
    expect(bytes).toBe(produced);
    expect(commands.filter((c) => c === 'UploadPartCommand')).toHaveLength(3);
    expect(commands).toContain('CompleteMultipartUploadCommand');
    // Measured: the producer ran at most this far ahead of S3's acknowledgements (~parts in flight + one being filled).
    expect(maxAhead).toBeLessThanOrEqual((EXPORT_PARTS_IN_FLIGHT + 1) * EXPORT_PART_BYTES + 64 * 1024);
    console.info(`export upload: ${bytes} bytes, producer at most ${maxAhead} bytes ahead of S3 (${(maxAhead / EXPORT_PART_BYTES).toFixed(2)} parts)`);

    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'exports/u/big.json' }));
    const back = createHash('sha256');
    let length = 0;
    for await (const c of got.Body as AsyncIterable<Uint8Array>) {
      back.update(c);
      length += c.length;
    }
    expect(length).toBe(bytes);
    expect(back.digest('hex')).toBe(hash.digest('hex'));

    const link = await files.presignDownload('exports/u/big.json');
    expect(new URL(link.url).searchParams.get('X-Amz-Expires')).toBe('120');
  });
});
