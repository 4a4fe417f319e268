// `convnet lab`'s server: it serves the lab's folder and nothing else, GET and HEAD only, with
// the headers that make the page cross-origin isolated (src/cli/lab.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { temporaryDirectory } from '../helpers.js';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FASHION_MNIST_FILES, parsePort, startLabServer, type LabServer } from '../../src/cli/lab.js';
import { ConvnetError } from '../../src/errors.js';

// build/test/cli/lab.test.js → the repository root is three levels up.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(root, 'dist', 'cli', 'main.js');

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with the path sent exactly as written (fetch would normalise `..` away). */
function send(server: LabServer, method: string, path: string): Promise<Reply> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('convnet lab: the server', () => {
  // tmp/site/  the lab's folder: index.html, main.js, data/x.idx, a link to ../secret.txt
  // tmp/secret.txt and tmp/site-other/secret.txt  outside it
  // tmp/fashion/  the four Fashion-MNIST files
  const tmp = temporaryDirectory('convnet-lab-server-');
  const site = join(tmp, 'site');
  let isolated: LabServer;
  let plain: LabServer;

  before(async () => {
    mkdirSync(join(site, 'data'), { recursive: true });
    writeFileSync(join(site, 'index.html'), '<!doctype html><title>lab</title>');
    writeFileSync(join(site, 'main.js'), 'export {};');
    writeFileSync(join(site, 'data', 'x.idx'), Buffer.from([0, 0, 8, 1, 0, 0, 0, 1, 7]));
    writeFileSync(join(tmp, 'secret.txt'), 'SECRET');
    mkdirSync(join(tmp, 'site-other'));
    writeFileSync(join(tmp, 'site-other', 'secret.txt'), 'SECRET');
    symlinkSync(join(tmp, 'secret.txt'), join(site, 'link.txt'));
    mkdirSync(join(tmp, 'fashion'));
    for (const name of FASHION_MNIST_FILES) writeFileSync(join(tmp, 'fashion', name), name);
    writeFileSync(join(tmp, 'fashion', 'other.gz'), 'not served');
    isolated = await startLabServer({ port: 0, root: site, fashionMnistDir: join(tmp, 'fashion') });
    plain = await startLabServer({ port: 0, root: site, isolation: false, fashionMnistDir: join(tmp, 'missing') });
  });

  after(async () => {
    await isolated?.close();
    await plain?.close();
  });

  test('listens on 127.0.0.1 and serves the page with COOP/COEP and its files with their types', async () => {
    assert.match(isolated.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await send(isolated, 'GET', '/');
    assert.equal(page.status, 200);
    assert.equal(page.body, '<!doctype html><title>lab</title>');
    assert.equal(page.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(page.headers['cross-origin-embedder-policy'], 'require-corp');
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    const script = await send(isolated, 'GET', '/main.js?v=1');
    assert.equal(script.status, 200);
    assert.equal(script.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(script.headers['cross-origin-embedder-policy'], 'require-corp');
    const data = await send(isolated, 'GET', '/data/x.idx');
    assert.equal(data.status, 200);
    assert.equal(data.headers['content-type'], 'application/octet-stream');
    assert.equal(data.headers['content-length'], '9');
  });

  test('HEAD: the headers without a body', async () => {
    const head = await send(isolated, 'HEAD', '/index.html');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], String('<!doctype html><title>lab</title>'.length));
    assert.equal(head.headers['cross-origin-opener-policy'], 'same-origin');
  });

  test('--no-isolation: no COOP/COEP (the page then runs on one thread)', async () => {
    const page = await send(plain, 'GET', '/');
    assert.equal(page.status, 200);
    assert.equal(page.headers['cross-origin-opener-policy'], undefined);
    assert.equal(page.headers['cross-origin-embedder-policy'], undefined);
  });

  test('paths outside the folder, plain or percent-encoded, get 404 and never the file', async () => {
    const paths = [
      '/../secret.txt',
      '/data/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/secret.txt',
      '/.%2e/secret.txt',
      '/data/%2e%2e/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e%2fsecret.txt',
      '/%2e%2e%2Fsecret.txt',
      '/data%2f..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
      '/..\\secret.txt',
      '/%252e%252e/secret.txt',
      '/../site-other/secret.txt',
      '/%2e%2e/site-other/secret.txt',
      '/link.txt',
      '/index.html%00.js',
      '/%zz',
      '//etc/passwd',
      '/data',
      '/missing.js',
    ];
    for (const path of paths) {
      const reply = await send(isolated, 'GET', path);
      assert.equal(reply.status, 404, `${path} → ${reply.status}`);
      assert.doesNotMatch(reply.body, /SECRET|root:/, path);
    }
  });

  test('only GET and HEAD: anything else gets 405 with Allow', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const reply = await send(isolated, method, '/index.html');
      assert.equal(reply.status, 405, method);
      assert.equal(reply.headers.allow, 'GET, HEAD', method);
    }
  });

  test('datasets.json says whether Fashion-MNIST is there, and only its four files are served', async () => {
    assert.deepEqual(JSON.parse((await send(isolated, 'GET', '/datasets.json')).body), { 'fashion-mnist': true });
    assert.deepEqual(JSON.parse((await send(plain, 'GET', '/datasets.json')).body), { 'fashion-mnist': false });
    const file = await send(isolated, 'GET', `/datasets/fashion-mnist/${FASHION_MNIST_FILES[0]}`);
    assert.equal(file.status, 200);
    assert.equal(file.body, FASHION_MNIST_FILES[0]);
    assert.equal((await send(isolated, 'GET', '/datasets/fashion-mnist/other.gz')).status, 404);
    assert.equal((await send(isolated, 'GET', '/datasets/fashion-mnist/..%2fsecret.txt')).status, 404);
    assert.equal((await send(plain, 'GET', `/datasets/fashion-mnist/${FASHION_MNIST_FILES[0]}`)).status, 404);
  });

  test('a folder without index.html is a ConvnetError naming it; --port is 0 to 65535', async () => {
    await assert.rejects(() => startLabServer({ port: 0, root: join(tmp, 'fashion') }), (error: unknown) => error instanceof ConvnetError && /index\.html is missing: build the page first \(npm run build:lab\)/.test(error.message));
    assert.equal(parsePort('0'), 0);
    assert.equal(parsePort('8080'), 8080);
    for (const bad of ['-1', '65536', 'x', '1.5', '']) assert.throws(() => parsePort(bad), /--port must be a whole number from 0 to 65535/, bad);
  });

  test('`convnet lab --port 0` prints its address and serves the built page there', async () => {
    const child = spawn(process.execPath, [bin, 'lab', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (chunk: string) => {
          out += chunk;
          const match = /convnet lab: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (match) resolve(match[1]!);
        });
        child.on('exit', (code) => reject(new Error(`convnet lab exited with ${code}: ${out}`)));
      });
      const response = await fetch(url);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cross-origin-opener-policy'), 'same-origin');
      assert.match(await response.text(), /data-testid="draw-pad"/);
    } finally {
      child.kill();
    }
  });
});
