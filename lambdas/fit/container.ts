/**
 * The FIT container check that runs before any decoding: which bytes form intact FIT files.
 *
 * An upload may hold several FIT files back to back ("chained": an activity followed by
 * heart-rate-strap segments, or by a settings file). Rules:
 * - the upload must start with a FIT file, and every FIT file in it must be complete and pass
 *   its header and data CRC (Garmin's `checkIntegrity()`): a damaged part makes the whole
 *   upload fail, because we cannot know what the damaged part held;
 * - bytes after the last FIT file that do not begin with a FIT header (".FIT" signature) are
 *   ignored and reported in a note: transfer tools pad files, and the activity itself is
 *   complete and CRC-protected. Such bytes are never decoded.
 * Only CRC-verified bytes ever reach a decoder, so no decoder can turn damage into data.
 */
import { CrcCalculator, Decoder, Stream } from '@garmin/fitsdk';
import { FitFileError } from './errors.js';

/** One FIT file inside the upload: `[start, end)` including its 2-byte data CRC. */
export interface FitSegment {
  readonly start: number;
  readonly headerSize: number;
  /** End of the data section (where the data CRC begins). */
  readonly dataEnd: number;
  readonly end: number;
}

export interface VerifiedFit {
  /** The CRC-verified prefix: every segment, nothing after the last one. */
  readonly buffer: ArrayBuffer;
  readonly segments: readonly FitSegment[];
  /** Bytes after the last segment, ignored. */
  readonly trailingBytes: number;
}

const CRC_SIZE = 2;
const FIT_SIGNATURE = [0x2e, 0x46, 0x49, 0x54]; // ".FIT"

interface FitHeader {
  readonly headerSize: 12 | 14;
  readonly dataSize: number;
}

/** The header at `offset` if the bytes there carry a FIT header signature, else null. */
function readHeader(bytes: Uint8Array, offset: number): FitHeader | null {
  const headerSize = bytes[offset];
  if (headerSize !== 12 && headerSize !== 14) return null;
  if (bytes.length - offset < 12) return null;
  if (FIT_SIGNATURE.some((b, i) => bytes[offset + 8 + i] !== b)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 8);
  return { headerSize, dataSize: view.getUint32(4, true) };
}

/**
 * A standalone ArrayBuffer holding exactly `bytes[start, end)`. The SDK's Stream reads a whole
 * ArrayBuffer, and `bytes` may be a view into a larger one (a Node Buffer from a pool, whose
 * `slice` does not even copy).
 */
function copyOf(bytes: Uint8Array, start: number, end: number): ArrayBuffer {
  return new Uint8Array(bytes.subarray(start, end)).buffer;
}

const ordinal = (i: number) => (i === 0 ? 'The FIT file' : `FIT file ${i + 1} in this upload`);

/** Explains a failed integrity check: which checksum does not match. */
function crcError(bytes: Uint8Array, offset: number, header: FitHeader, index: number): FitFileError {
  if (header.headerSize === 14) {
    const stored = bytes[offset + 12]! | (bytes[offset + 13]! << 8);
    if (stored !== 0 && stored !== CrcCalculator.calculateCRC(bytes, offset, offset + 12)) {
      return new FitFileError('bad_crc', `${ordinal(index)} is damaged: its header checksum does not match. Upload the original file from your watch again.`);
    }
  }
  return new FitFileError('bad_crc', `${ordinal(index)} is damaged: its data checksum does not match. Upload the original file from your watch again.`);
}

export function verifyFitContainer(bytes: Uint8Array): VerifiedFit | FitFileError {
  if (bytes.length === 0) return new FitFileError('empty', 'The uploaded file is empty.');
  if (readHeader(bytes, 0) === null) {
    return new FitFileError('not_fit', 'This is not a FIT file. Upload the .fit file your watch or app recorded.');
  }
  const segments: FitSegment[] = [];
  let lastSegmentBuffer: ArrayBuffer | null = null;
  let offset = 0;
  for (;;) {
    const header = readHeader(bytes, offset);
    if (header === null) break; // not FIT: trailing bytes (never at offset 0, checked above)
    const dataEnd = offset + header.headerSize + header.dataSize;
    const end = dataEnd + CRC_SIZE;
    if (end > bytes.length) {
      return new FitFileError(
        'truncated',
        `${ordinal(segments.length)} is incomplete: it declares ${end - offset} bytes but only ${bytes.length - offset} arrived. The upload may have been cut off; try again.`,
      );
    }
    // Garmin's own check (signature, sizes, header CRC, data CRC) on exactly this FIT file.
    lastSegmentBuffer = copyOf(bytes, offset, end);
    const stream = Stream.fromArrayBuffer(lastSegmentBuffer);
    if (!new Decoder(stream).checkIntegrity()) return crcError(bytes, offset, header, segments.length);
    segments.push({ start: offset, headerSize: header.headerSize, dataEnd, end });
    offset = end;
    if (offset === bytes.length) break;
  }
  // One FIT file (the usual case): its checked copy is the prefix; no second copy.
  const buffer = segments.length === 1 && lastSegmentBuffer !== null ? lastSegmentBuffer : copyOf(bytes, 0, offset);
  return { buffer, segments, trailingBytes: bytes.length - offset };
}
