import { restoreBytes } from '../decode/bpftrace-output.js';

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes from procfs as text, with the same rule as probe strings: valid UTF-8 as is, any other byte
 * as "\xNN", so an argv read from /proc and one read by a probe look alike.
 */
export function bytesToText(buf: Buffer): string {
  try {
    return fatalUtf8.decode(buf);
  } catch {
    let placeholders = '';
    for (const b of buf) placeholders += b >= 0x80 ? String.fromCharCode(0xdc00 + b) : String.fromCharCode(b);
    return restoreBytes(placeholders);
  }
}
