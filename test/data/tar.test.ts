import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ConvnetError } from '../../src/errors.js';
import { readTar } from '../../src/data/tar.js';
import { makeTar, paxRecords, tarHeader } from './fixtures.js';

const bytes = (n: number, start = 0): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (start + i * 7) & 0xff;
  return b;
};

test('readTar lists regular files with their bytes and skips directories and links', () => {
  const a = bytes(1000);
  const b = bytes(512, 3);
  const tar = makeTar([
    { name: 'dir/', type: '5' },
    { name: 'dir/a.bin', data: a },
    { name: 'dir/link', type: '2' },
    { name: 'dir/b.bin', data: b },
    { name: 'dir/empty', data: '' },
  ]);
  const entries = readTar(tar, 'x.tar');
  assert.deepEqual(entries.map((e) => e.name), ['dir/a.bin', 'dir/b.bin', 'dir/empty']);
  assert.deepEqual(entries.map((e) => e.size), [1000, 512, 0]);
  assert.ok(entries[0]!.data.equals(a));
  assert.ok(entries[1]!.data.equals(b));
  // dir/ header at 0, a.bin header at 512 and data at 1024 (1000 bytes padded to 1024),
  // the link's header at 2048, b.bin's header at 2560
  assert.equal(entries[0]!.headerOffset, 512);
  assert.equal(entries[0]!.dataOffset, 1024);
  assert.equal(entries[1]!.headerOffset, 2560);
  assert.equal(entries[2]!.headerOffset, 2560 + 512 + 512);
});

test('readTar reads gzipped archives the same as plain ones', () => {
  const tar = makeTar([{ name: 'a.txt', data: 'hello' }, { name: 'b.txt', data: 'world!' }]);
  const plain = readTar(tar);
  const gz = readTar(gzipSync(tar));
  assert.deepEqual(gz.map((e) => [e.name, e.data.toString()]), [['a.txt', 'hello'], ['b.txt', 'world!']]);
  assert.deepEqual(plain.map((e) => e.data.toString()), gz.map((e) => e.data.toString()));
});

test('readTar joins the ustar prefix and reads GNU long names and pax paths', () => {
  const longName = `${'very-long-folder-name/'.repeat(8)}file.bin`;
  assert.ok(longName.length > 100);
  const tar = makeTar([
    { name: 'data_batch_1.bin', prefix: 'some/prefix', data: 'one' },
    { name: '././@LongLink', type: 'L', data: `${longName}\u0000` },
    { name: 'truncated-name', data: 'two' },
    { name: 'PaxHeaders/x', type: 'x', data: paxRecords({ path: 'pax/named/file.bin', mtime: '1.5' }) },
    { name: 'short', data: 'three' },
    { name: 'after', data: 'four' },
  ]);
  const entries = readTar(tar, 'names.tar');
  assert.deepEqual(entries.map((e) => e.name), ['some/prefix/data_batch_1.bin', longName, 'pax/named/file.bin', 'after']);
  assert.deepEqual(entries.map((e) => e.data.toString()), ['one', 'two', 'three', 'four']);
});

test('readTar accepts an archive without the end-of-archive blocks', () => {
  const tar = makeTar([{ name: 'a', data: 'x' }]);
  const entries = readTar(tar.subarray(0, 1024), 'short.tar');
  assert.equal(entries.length, 1);
  assert.equal(entries[0]!.data.toString(), 'x');
});

function assertTarError(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConvnetError, `expected a ConvnetError, got ${String(error)}`);
    for (const part of parts) {
      if (typeof part === 'string') assert.ok(error.message.includes(part), `"${error.message}" should mention "${part}"`);
      else assert.match(error.message, part);
    }
    return true;
  });
}

test('a corrupted header fails its checksum, naming the file and the header offset', () => {
  const tar = makeTar([{ name: 'a', data: 'x' }, { name: 'b', data: 'y' }]);
  tar[1024 + 10] ^= 0x01; // a byte of the second header's name
  assertTarError(() => readTar(tar, 'bad.tar'), 'bad.tar', 'checksum', 'byte offset 1024');
});

test('truncated entry data is an error naming the entry and the offset', () => {
  const tar = makeTar([{ name: 'a', data: 'x' }, { name: 'big.bin', data: bytes(2000) }]);
  const cut = tar.subarray(0, 1024 + 512 + 700);
  assertTarError(() => readTar(cut, 'cut.tar'), 'cut.tar', 'big.bin', 'byte offset 1536', 'promises 2000 bytes');
});

test('a truncated header is an error naming its offset', () => {
  const tar = makeTar([{ name: 'a', data: 'x' }, { name: 'b', data: 'y' }]);
  assertTarError(() => readTar(tar.subarray(0, 1024 + 100), 'cut.tar'), 'cut.tar', 'truncated header', 'byte offset 1024');
});

test('a non-octal size field is an error', () => {
  const header = tarHeader('a', 5);
  header.write('00000000x05', 124, 'latin1');
  // recompute the checksum so that only the size is wrong
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');
  const tar = Buffer.concat([header, Buffer.alloc(512 + 1024)]);
  assertTarError(() => readTar(tar, 'size.tar'), 'size.tar', 'non-octal size', 'byte offset 0');
});

test('a truncated gzip stream is an error naming the file', () => {
  const gz = gzipSync(makeTar([{ name: 'a', data: bytes(5000) }]));
  assertTarError(() => readTar(gz.subarray(0, gz.length - 20), 'cut.tar.gz'), 'cut.tar.gz', 'gzip');
});
