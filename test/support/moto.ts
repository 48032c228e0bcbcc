/** Starts moto server (the local AWS stand-in) on a free loopback port, and stops it. */

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { ensurePythonTools, PythonToolsMissingError } from '../../scripts/lib/python-tools.mjs';

export interface MotoServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export class MotoNotFoundError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MotoNotFoundError';
  }
}

/** A port the OS says is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * The command that runs moto server here: MOTO_SERVER, else `moto_server` as scripts/lib/python-tools.mjs finds
 * it (the PATH, then .venv/, which it creates with the pinned version when needed).
 */
export function motoCommand(): string[] {
  const configured = process.env.MOTO_SERVER;
  if (configured) return configured.split(' ');
  try {
    return [ensurePythonTools({ names: ['moto_server'] }).moto_server as string];
  } catch (error) {
    if (!(error instanceof PythonToolsMissingError)) throw error;
    throw new MotoNotFoundError(`moto server was not found: ${error.message}`, { cause: error });
  }
}

async function waitUntilReady(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`moto server exited with code ${child.exitCode} before it was ready`);
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`moto server did not answer at ${endpoint} within ${timeoutMs} ms`);
}

export async function startMoto(options: { accountId?: string } = {}): Promise<MotoServer> {
  const [command, ...args] = motoCommand();
  const port = await freePort();
  const child = spawn(command as string, [...args, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...(options.accountId ? { MOTO_ACCOUNT_ID: options.accountId } : {}) },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  // A command that cannot run (e.g. MOTO_SERVER pointing nowhere) emits 'error'; unhandled, it would crash.
  let spawnError: Error | undefined;
  child.on('error', (error) => {
    spawnError = error;
  });
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(endpoint, child, 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    if (spawnError !== undefined) {
      throw new MotoNotFoundError(`moto server could not be run with \`${command}\`: ${spawnError.message}`);
    }
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
      }),
  };
}
