import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../src/errors.js';
import { inspectEncoding, sniffBinary, SNIFF_BYTES, windows1252ToUtf8 } from '../src/pipeline/input-encoding.js';

const dir = mkdtempSync(join(tmpdir(), 'input-encoding-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(bytes: Buffer | string): string {
  const p = join(dir, `f${++n}.csv`);
  writeFileSync(p, bytes);
  return p;
}
const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => new Error('expected a refusal'), (e: unknown) => e);
  expect(err).toBeInstanceOf(DatasetError);
  return (err as Error).message;
}

describe('binary input is refused from its first bytes, with what it is and the fix', () => {
  it('gzip: says to decompress it, naming the file', () => {
    const gz = gzipSync(Buffer.from('track_id,track_name\n1,a\n'));
    expect(() => sniffBinary(gz, 'songs.csv.gz')).toThrow(
      'songs.csv.gz is gzip-compressed, not a CSV text file; decompress it first (gunzip -k songs.csv.gz) and point MUSIC_DATASET at the .csv',
    );
  });

  it('zip and the other archive formats', () => {
    expect(() => sniffBinary(Buffer.from('PK\u0003\u0004rest', 'latin1'), 'x.zip')).toThrow(/ZIP archive/);
    expect(() => sniffBinary(Buffer.from('BZh91AY&SY'), 'x.bz2')).toThrow(/bzip2-compressed/);
    expect(() => sniffBinary(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1]), 'x.xz')).toThrow(/xz-compressed/);
  });

  it('NUL bytes: binary data, with the line of the first one', () => {
    expect(() => sniffBinary(Buffer.alloc(4096), 'zeros.csv')).toThrow(
      'zeros.csv holds binary data (a NUL byte on line 1, byte offset 0), not CSV text; check that MUSIC_DATASET points at the CSV file',
    );
    expect(() => sniffBinary(Buffer.from('a,b\r\nc,d\r\ne\u0000f\n'), 'x.csv')).toThrow(/NUL byte on line 3, byte offset 11/);
  });

  it('UTF-16 without a BOM, and UTF-16BE, are named as such; UTF-16LE with a BOM passes', () => {
    expect(() => sniffBinary(Buffer.from('track_id,track_name\n', 'utf16le'), 'u.csv')).toThrow(/UTF-16 text without a byte-order mark; save it as UTF-8/);
    expect(() => sniffBinary(Buffer.from([0xfe, 0xff, 0, 0x61]), 'be.csv')).toThrow(/UTF-16 big-endian/);
    expect(() => sniffBinary(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\n', 'utf16le')]), 'le.csv')).not.toThrow();
  });
});

describe('inspectEncoding', () => {
  it('UTF-8 (with a multi-byte character split across read chunks) is read as it is', async () => {
    const head = 'a'.repeat(SNIFF_BYTES - 1);
    const p = file(Buffer.from(`${head}é,Beyoncé\n`));
    expect(await inspectEncoding(p, 'u.csv')).toEqual({ encoding: 'utf-8', note: null });
  });

  it('a Windows-1252 / Latin-1 file is transcoded, with a note naming the first non-UTF-8 line', async () => {
    const p = file(latin1('track_name,artist\nPlain,ASCII\nCafé,Beyoncé\n'));
    expect(await inspectEncoding(p, 'l.csv')).toEqual({
      encoding: 'windows-1252',
      note: 'l.csv is not UTF-8 (first at line 3 (byte 0xE9 at offset 33)); read as Windows-1252 (Latin-1) and transcoded to UTF-8',
    });
    const decode = windows1252ToUtf8();
    expect(decode(Buffer.from([0x43, 0x61, 0x66, 0xe9, 0x20, 0x80, 0x93])).toString('utf8')).toBe('Café €“');
  });

  it('refuses a file that mixes UTF-8 with other bytes, naming the line of the first bad byte', async () => {
    const p = file(Buffer.concat([Buffer.from('name\nBeyoncé\nok\n'), latin1('Café\n')]));
    expect(await refusal(inspectEncoding(p, 'm.csv'))).toBe(
      'm.csv is not valid UTF-8 at line 4 (byte 0xE9 at offset 20), while other lines are UTF-8: it mixes encodings; save it as UTF-8 and run again (nothing was staged)',
    );
  });

  it('refuses bytes Windows-1252 leaves undefined', async () => {
    const p = file(Buffer.from([0x61, 0x0a, 0x62, 0x81, 0x0a]));
    expect(await refusal(inspectEncoding(p, 'w.csv'))).toMatch(/not valid UTF-8 at line 2 .* not Windows-1252 either \(byte 0x81 has no character there\)/);
  });

  it('refuses a UTF-8 file cut in the middle of a character', async () => {
    const p = file(Buffer.concat([Buffer.from('a\nb'), Buffer.from('é').subarray(0, 1)]));
    // One lone lead byte and no other multi-byte character: a Windows-1252 reading is still possible.
    expect(await inspectEncoding(p, 't.csv')).toMatchObject({ encoding: 'windows-1252' });
  });

  it('finds a NUL far into the file and names its line', async () => {
    const body = `h\n${'x,y\n'.repeat(40_000)}`;
    const p = file(Buffer.concat([Buffer.from(body), Buffer.from('bad\u0000row\n')]));
    expect(await refusal(inspectEncoding(p, 'z.csv'))).toBe(
      `z.csv holds binary data (a NUL byte on line 40002, byte offset ${Buffer.byteLength(body) + 3}), not CSV text; check that MUSIC_DATASET points at the CSV file`,
    );
  });
});
