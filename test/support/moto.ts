/** Starts moto server (the local AWS stand-in) on a free loopback port, and stops it. */

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
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

/** Options of a moto server that enforces IAM: see test/support/moto_enforcing.py. */
export interface EnforceIamOptions {
  /** INITIAL_NO_AUTH_ACTION_COUNT: how many requests moto serves before it authorises every request. */
  readonly initialNoAuthActionCount: number;
  /** File that receives one JSON line per authorisation decision (principal, action, resource, allowed). */
  readonly authorizationLog: string;
}

const ENFORCING_LAUNCHER = fileURLToPath(new URL('./moto_enforcing.py', import.meta.url));

/**
 * The Python that runs moto: MOTO_PYTHON, else the `python3` beside `moto_server` (a virtual environment's, or the
 * pyenv shim's), else `python3` on the PATH.
 */
export function motoPython(): string {
  if (process.env.MOTO_PYTHON) return process.env.MOTO_PYTHON;
  const [server] = process.env.MOTO_SERVER ? [] : motoCommand();
  const beside = server === undefined ? undefined : path.join(path.dirname(server), 'python3');
  return beside !== undefined && existsSync(beside) ? beside : 'python3';
}

export async function startMoto(
  options: { accountId?: string; enforceIam?: EnforceIamOptions } = {},
): Promise<MotoServer> {
  const { enforceIam } = options;
  const [command, ...args] = enforceIam ? [motoPython(), ENFORCING_LAUNCHER] : motoCommand();
  const port = await freePort();
  const child = spawn(command as string, [...args, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', process.env.KEYWARDEN_MOTO_DEBUG ? 'inherit' : 'pipe'],
    env: {
      ...process.env,
      ...(options.accountId ? { MOTO_ACCOUNT_ID: options.accountId } : {}),
      ...(enforceIam
        ? {
            INITIAL_NO_AUTH_ACTION_COUNT: String(enforceIam.initialNoAuthActionCount),
            KEYWARDEN_AUTHZ_LOG: enforceIam.authorizationLog,
          }
        : {}),
    },
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
