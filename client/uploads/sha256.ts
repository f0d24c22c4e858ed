/**
 * SHA-256 of a file in pure JavaScript (`@noble/hashes`): runs in React Native, where neither
 * Node's `crypto` nor WebCrypto's streaming digest exists. A Blob is hashed slice by slice, so
 * the digest holds one slice in memory, never the whole file.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export const HASH_SLICE_BYTES = 1024 * 1024;

export async function sha256Hex(file: Blob | Uint8Array): Promise<string> {
  const hash = sha256.create();
  if (file instanceof Uint8Array) {
    hash.update(file);
  } else {
    for (let at = 0; at < file.size; at += HASH_SLICE_BYTES) {
      hash.update(new Uint8Array(await file.slice(at, Math.min(file.size, at + HASH_SLICE_BYTES)).arrayBuffer()));
    }
  }
  return bytesToHex(hash.digest());
}
