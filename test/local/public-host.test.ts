/**
 * `PUBLIC_HOST` (a phone or an emulator on the LAN): every URL the local stack hands out names
 * the public host and the stack's own port, S3's presigned POST and GET included (forwarded under
 * `/local/s3/`), and those URLs work: the real upload queue sends a FIT file through them, the
 * processor turns it into Garmin data, and the presigned download returns the same bytes.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createUploadQueue, type UploadFetch } from '../../client/index.js';
import { rewriteStorageUrls } from '../../local/public-url.js';
import { uniqueUser } from '../support/dynamo.js';
import { activityRaw } from '../support/records.js';
import { apiAs, useLocalStack } from '../support/stack.js';
import { inMemoryDatabase } from '../support/watermelon.js';

const FIT_FILE = fileURLToPath(new URL('../fixtures/fit/python-fitparse/activity-small-fenix2-run.fit', import.meta.url));
/** Not the address the stack binds (127.0.0.1): a name only the URLs can have taken it from. */
const PUBLIC_HOST = 'localhost';

describe('local stack with PUBLIC_HOST', () => {
  const stack = useLocalStack({ publicHost: PUBLIC_HOST, env: { EXPORT_INLINE_MAX_BYTES: '1000' } });

  it('hands out URLs on the public host and its own port, and S3 answers through them', async () => {
    const { url, s3Endpoint } = stack();
    const port = new URL(url).port;
    expect(new URL(url).host).toBe(`${PUBLIC_HOST}:${port}`);
    expect(new URL(s3Endpoint).port).not.toBe(port);

    const token = await stack().token(uniqueUser('public'));
    const database = inMemoryDatabase('public-host');
    const storageUrls: string[] = [];
    const recording: UploadFetch = (u, init) => {
      if (typeof FormData !== 'undefined' && init.body instanceof FormData) storageUrls.push(u);
      return fetch(u, init as RequestInit);
    };
    const queue = createUploadQueue({ database, baseUrl: url, getToken: () => token, fetch: recording, autoStart: false, readFile: async (uri) => openAsBlob(uri) });
    await queue.enqueue({ uri: FIT_FILE, kind: 'fit', contentType: 'application/vnd.ant.fit' });
    await queue.resume();
    const [job] = await queue.jobs();
    expect(job).toMatchObject({ status: 'uploaded', attempts: 1 });
    // The file went to the public host's port, under the S3 prefix, not to the embedded S3's port.
    expect(storageUrls).toHaveLength(1);
    const post = new URL(storageUrls[0] as string);
    expect([post.host, post.pathname]).toEqual([`${PUBLIC_HOST}:${port}`, `/local/s3/${stack().uploadsBucket}`]);
    const outcomes = await stack().uploadsSettled();
    expect(outcomes).toEqual([expect.objectContaining({ outcome: 'processed', uploadId: job?.uploadId })]);

    const download = await apiAs(stack(), token).request('GET', `/api/v1/uploads/${job?.uploadId}/url`);
    expect(download.status).toBe(200);
    const get = new URL(download.body.url as string);
    expect([get.host, get.pathname.startsWith(`/local/s3/${stack().uploadsBucket}/users/`)]).toEqual([`${PUBLIC_HOST}:${port}`, true]);
    const file = await fetch(get);
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).equals(readFileSync(FIT_FILE))).toBe(true);
  });

  it("an account export too large to answer inline: the 303's Location and the link name the public host, and following it (same origin, the token sent along) returns the document", async () => {
    const user = uniqueUser('public-export');
    const token = await stack().token(user);
    const api = apiAs(stack(), token);
    const created = Array.from({ length: 3 }, (_, i) => activityRaw(`${user}-${i}`, { notes: 'n'.repeat(600) }));
    expect((await api.push({ changes: { activities: { created, updated: [], deleted: [] } }, last_pulled_at: null })).status).toBe(200);
    const port = new URL(stack().url).port;
    const res = await fetch(`${stack().url}/api/v1/account/export`, { redirect: 'manual', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(303);
    const link = (await res.json()) as { download_url: string };
    const location = new URL(res.headers.get('location') as string);
    expect(location.href).toBe(link.download_url);
    expect([location.host, location.pathname.startsWith(`/local/s3/${stack().uploadsBucket}/exports/`)]).toEqual([`${PUBLIC_HOST}:${port}`, true]);
    const followed = await fetch(`${stack().url}/api/v1/account/export`, { headers: { authorization: `Bearer ${token}` } });
    expect(followed.status).toBe(200);
    const doc = (await followed.json()) as { user_id: string; records: { activities: { id: string }[] } };
    expect(doc.user_id).toBe(user);
    expect(doc.records.activities.map((a) => a.id).sort()).toEqual(created.map((c) => c.id));
  });

  it('rewrites only strings under the S3 origin', () => {
    const s3 = 'http://127.0.0.1:4569';
    const body = { url: `${s3}/bucket`, fields: { key: 'users/u/fit/x.fit', note: `${s3}0/other` }, list: [`${s3}/b/k?X-Amz-Signature=1`, 7, null] };
    expect(rewriteStorageUrls(body, s3, 'http://phone.lan:3000')).toEqual({
      url: 'http://phone.lan:3000/local/s3/bucket',
      fields: { key: 'users/u/fit/x.fit', note: `${s3}0/other` },
      list: ['http://phone.lan:3000/local/s3/b/k?X-Amz-Signature=1', 7, null],
    });
  });
});
