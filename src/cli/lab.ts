/**
 * `convnet lab`: a local web server for the lab (the page `npm run build:lab` writes to
 * dist/lab/). It sends the headers that make the page cross-origin isolated
 * (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp), which
 * give it shared memory and so the WebAssembly kernels' threads.
 *
 * It serves the lab's files and nothing else: GET and HEAD only (405 otherwise), paths whose
 * segments are `..` or `.`, or hold a slash, backslash or NUL once percent-decoded, get 404, as
 * does anything that does not resolve to a file inside the lab's folder. Besides the files:
 * /datasets.json says which server-side datasets exist, and /datasets/fashion-mnist/ serves the
 * four official Fashion-MNIST files when Debian's folder has them.
 */
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { FASHION_MNIST_DIR } from '../data/mnist.js';
import { ConvnetError } from '../errors.js';

/** dist/lab/, next to this file's dist/cli/. */
export const LAB_DIR = fileURLToPath(new URL('../lab/', import.meta.url));

/** The Fashion-MNIST files the page may ask for (Debian's dataset-fashion-mnist names). */
export const FASHION_MNIST_FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface LabServerOptions {
  /** 0: any free port. Default 8080. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Send COOP/COEP (threads in the page). Default true. */
  isolation?: boolean;
  /** The folder served. Default dist/lab/. */
  root?: string;
  /** Where Fashion-MNIST's IDX files are looked for. Default Debian's folder. */
  fashionMnistDir?: string;
}

export interface LabServer {
  server: Server;
  /** e.g. http://127.0.0.1:8080/ */
  url: string;
  close(): Promise<void>;
}

/** --port: 0 to 65535. */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError(`--port must be a whole number from 0 to 65535, got '${value}'`);
  return n;
}

/** The path's segments, percent-decoded, or undefined when one may not be served. */
function segments(rawUrl: string): string[] | undefined {
  const path = rawUrl.split(/[?#]/, 1)[0]!;
  if (!path.startsWith('/')) return undefined;
  const out: string[] = [];
  for (const raw of path.slice(1).split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment === '..' || segment === '.' || /[/\\\0]/.test(segment)) return undefined;
    if (segment !== '') out.push(segment);
  }
  return out;
}

function handler(options: Required<LabServerOptions>): (request: IncomingMessage, response: ServerResponse) => void {
  const root = realpathSync(options.root);
  const base: Record<string, string> = {
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
    ...(options.isolation ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {}),
  };
  const fashion = () => FASHION_MNIST_FILES.every((name) => existsSync(join(options.fashionMnistDir, name)));
  const send = (response: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void => {
    response.writeHead(status, { ...base, 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), ...extra });
    response.end(body);
  };
  const notFound = (response: ServerResponse): void => send(response, 404, 'text/plain; charset=utf-8', 'not found\n');

  return (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(response, 405, 'text/plain; charset=utf-8', 'method not allowed: the lab serves GET and HEAD\n', { Allow: 'GET, HEAD' });
      return;
    }
    const parts = segments(request.url ?? '/');
    if (parts === undefined) return notFound(response);
    const head = request.method === 'HEAD';
    if (parts.length === 1 && parts[0] === 'datasets.json') {
      const body = JSON.stringify({ 'fashion-mnist': fashion() });
      response.writeHead(200, { ...base, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });
      response.end(head ? undefined : body);
      return;
    }
    let file: string;
    if (parts.length === 3 && parts[0] === 'datasets' && parts[1] === 'fashion-mnist') {
      if (!FASHION_MNIST_FILES.includes(parts[2]!)) return notFound(response);
      file = join(options.fashionMnistDir, parts[2]!);
    } else {
      file = join(root, ...(parts.length === 0 ? ['index.html'] : parts));
      // A symbolic link inside the folder must not lead out of it.
      let real: string;
      try {
        real = realpathSync(file);
      } catch {
        return notFound(response);
      }
      if (!real.startsWith(root + sep)) return notFound(response);
      file = real;
    }
    let size: number;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) return notFound(response);
      size = stat.size;
    } catch {
      return notFound(response);
    }
    response.writeHead(200, { ...base, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': String(size) });
    if (head) {
      response.end();
      return;
    }
    createReadStream(file)
      .on('error', () => response.destroy())
      .pipe(response);
  };
}

/** Starts the server; resolves once it listens. */
export async function startLabServer(options: LabServerOptions = {}): Promise<LabServer> {
  const resolved: Required<LabServerOptions> = {
    port: options.port ?? 8080,
    host: options.host ?? '127.0.0.1',
    isolation: options.isolation ?? true,
    root: options.root ?? LAB_DIR,
    fashionMnistDir: options.fashionMnistDir ?? FASHION_MNIST_DIR,
  };
  if (!existsSync(join(resolved.root, 'index.html'))) {
    throw new ConvnetError('lab', `${join(resolved.root, 'index.html')} is missing: build the page first (npm run build:lab)`);
  }
  const server = createServer(handler(resolved));
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(new ConvnetError('lab', `cannot listen on ${resolved.host}:${resolved.port} (${error.code ?? error.message}): choose another --port or --host`));
    });
    server.listen(resolved.port, resolved.host, () => {
      const { address, port } = server.address() as AddressInfo;
      const host = address.includes(':') ? `[${address}]` : address;
      resolve({
        server,
        url: `http://${host}:${port}/`,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

/** The command: starts the server and prints where it is. */
export async function runLab(options: { port: number; host: string; isolation: boolean }, print: (line: string) => void = console.log): Promise<LabServer> {
  const lab = await startLabServer(options);
  print(`convnet lab: ${lab.url}`);
  print(
    options.isolation
      ? 'cross-origin isolated (COOP/COEP headers sent): the page trains on WebAssembly threads. Ctrl-C stops the server.'
      : 'no COOP/COEP headers (--no-isolation): the page trains on one thread. Ctrl-C stops the server.',
  );
  return lab;
}
