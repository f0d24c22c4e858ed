/**
 * This device's id for the sync API (contract `device_id`): one per database, made on its first
 * sync and kept in the database's localStorage, so a reinstalled app (a new database) is a new
 * device. The server remembers which device wrote each record's current version: a pull leaves
 * out what this device pushed itself unchanged, and a push is never judged against this device's
 * own earlier writes (a push whose response was lost included).
 */
import type { Database } from '@nozbe/watermelondb';

export const DEVICE_ID_STORAGE_KEY = 'runningcoach_sync.device_id';
const DEVICE_ID = /^[A-Za-z0-9_-]{8,64}$/;

export async function deviceIdOf(database: Database): Promise<string> {
  const stored = await database.localStorage.get<unknown>(DEVICE_ID_STORAGE_KEY);
  if (typeof stored === 'string' && DEVICE_ID.test(stored)) return stored;
  const id = newDeviceId();
  await database.localStorage.set(DEVICE_ID_STORAGE_KEY, id);
  return id;
}

/**
 * 128 random bits, base64url (22 characters). Two devices of one user must never share an id
 * (each would take the other's writes for its own); secrecy does not matter. React Native has no
 * `crypto` unless the app adds one: then Math.random (128 bits of it) stands in.
 */
function newDeviceId(): string {
  const bytes = new Uint8Array(16);
  const crypto = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (crypto?.getRandomValues) crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 6) {
      out += alphabet[(value >>> (bits - 6)) & 63];
      bits -= 6;
    }
  }
  if (bits > 0) out += alphabet[(value << (6 - bits)) & 63];
  return out;
}
