/**
 * The export's spool (core/account.ts `ExportSpool`) on local disk: each table's serialized
 * records are held in memory up to `memoryBytesPerTable`, then appended to a file of their own in
 * a fresh temporary directory (Lambda: /tmp, the function's ephemeral storage), and read back in
 * order. Memory stays at most `memoryBytesPerTable` per table (plus one read chunk) whatever the
 * account's size; the directory is removed by `dispose`, also after a failure.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExportSpool } from '../core/account.js';
import type { TableName } from '../core/schema.js';

export interface FileSpoolOptions {
  /** Where the temporary directory goes. @default os.tmpdir() */
  readonly dir?: string;
  /** Characters held per table before they go to its file. @default 262144 */
  readonly memoryBytesPerTable?: number;
}

export function fileSpool(options: FileSpoolOptions = {}): ExportSpool {
  const limit = options.memoryBytesPerTable ?? 256 * 1024;
  let dir: Promise<string> | undefined;
  const tables = new Map<TableName, { held: string[]; size: number; file?: { path: string; handle: FileHandle } }>();
  const state = (table: TableName) => {
    let s = tables.get(table);
    if (!s) tables.set(table, (s = { held: [], size: 0 }));
    return s;
  };
  const flush = async (table: TableName) => {
    const s = state(table);
    if (s.held.length === 0) return;
    if (!s.file) {
      dir ??= mkdtemp(join(options.dir ?? tmpdir(), 'account-export-'));
      const path = join(await dir, `${table}.json`);
      s.file = { path, handle: await open(path, 'w') };
    }
    await s.file.handle.write(s.held.join(''), null, 'utf8');
    s.held = [];
    s.size = 0;
  };
  return {
    async append(table, text) {
      const s = state(table);
      s.held.push(text);
      s.size += text.length;
      if (s.size >= limit) await flush(table);
    },
    async *read(table) {
      const s = state(table);
      if (s.file) {
        await flush(table);
        await s.file.handle.close();
        const { path } = s.file;
        s.file = undefined;
        yield* createReadStream(path, { encoding: 'utf8', highWaterMark: 64 * 1024 }) as AsyncIterable<string>;
      } else {
        yield* s.held.splice(0);
      }
    },
    async dispose() {
      for (const s of tables.values()) await s.file?.handle.close().catch(() => undefined);
      tables.clear();
      if (dir) await rm(await dir, { recursive: true, force: true });
    },
  };
}
