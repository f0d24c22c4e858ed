/**
 * UTF-8 length of a string. A lone surrogate counts 3 bytes, as `TextEncoder` replaces it with
 * U+FFFD.
 *
 * On Node (the server) the runtime's own count, which reads the string in place: a pull sizes
 * every record it sends with this, and the loop below costs about 7 µs per 1.8 KB activity there
 * (~14× Node's). Elsewhere (the client runs in React Native, where `Buffer` does not exist or is
 * a polyfill that encodes the string to count it) the loop: encoding a multi-megabyte push body
 * only to learn its length would copy it once more.
 */
export const utf8ByteLength: (text: string) => number = nodeByteLength() ?? countUtf8Bytes;

/** The UTF-8 length from the string's UTF-16 code units (no copy; the portable path). */
export function countUtf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair is one code point beyond the BMP: 4 bytes.
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Node's `Buffer.byteLength`, only where Node runs (not a bundled `Buffer` polyfill). */
function nodeByteLength(): ((text: string) => number) | undefined {
  const g = globalThis as { process?: { versions?: { node?: string } }; Buffer?: { byteLength(text: string, encoding: 'utf8'): number } };
  const buffer = g.process?.versions?.node !== undefined ? g.Buffer : undefined;
  return buffer ? (text) => buffer.byteLength(text, 'utf8') : undefined;
}
