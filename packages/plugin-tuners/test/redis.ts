import * as net from 'node:net';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';

export const KILN_BIN = path.resolve(__dirname, '..', '..', 'cli', 'bin', 'kiln.js');

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Answers PING within the timeout? */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.setTimeout(500, () => (socket.destroy(), resolve(false)));
    socket.on('error', () => resolve(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      data += d;
      if (data.includes('\r\n')) {
        socket.end();
        resolve(data.startsWith('+PONG'));
      }
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A throwaway redis-server on a free loopback port, no persistence. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  for (let i = 0; i < 200 && !(await ping(port)); i++) await new Promise((r) => setTimeout(r, 25));
  if (!(await ping(port))) throw new Error(`redis-server did not start on port ${port}`);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export interface WorkerProcess {
  proc: ChildProcess;
  /** Everything the worker wrote to stderr so far. */
  log(): string;
  /** Resolves once the worker listens on the queue. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

/** `kiln worker --redis <url> …` as a separate process. */
export function spawnWorker(url: string, cwd: string, ...args: string[]): WorkerProcess {
  const proc = spawn(process.execPath, [KILN_BIN, 'worker', '--redis', url, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  let onReady: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  proc.stderr!.on('data', (d) => {
    err += d;
    if (err.includes('worker: taking trials')) onReady();
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    log: () => err,
    ready: Promise.race([ready, exited.then((code) => Promise.reject(new Error(`kiln worker exited (${code}) before listening:\n${err}`)))]),
    exited,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}
