/** Drives scripts/lib/handler-worker.mjs: a separate node process holding one built handler bundle. */

import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./handler-worker.mjs', import.meta.url));

export interface WorkerRun {
  readonly latencies: readonly number[];
  /** CPU time (user + system) of the worker process during each handler call. */
  readonly cpuMs: readonly number[];
  readonly results: readonly unknown[];
  readonly maxRssBytes: number;
}

export interface HandlerWorker {
  /** Time the worker took to import the bundle. */
  readonly importMs: number;
  /** CPU time of that import: what Lambda's init phase runs. */
  readonly importCpuMs: number;
  run(events: readonly unknown[], context: object): Promise<WorkerRun>;
  stop(): Promise<void>;
}

export class WorkerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerError';
  }
}

type Message =
  | { type: 'ready'; importMs: number; importCpuMs: number }
  | ({ type: 'done' } & WorkerRun)
  | { type: 'failed'; message: string; index: number };

function next(child: ChildProcess, stderr: () => string): Promise<Message> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: Message): void => {
      cleanup();
      resolve(message);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new WorkerError(`handler worker exited with ${code}: ${stderr()}`));
    };
    const cleanup = (): void => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Starts the worker with `env` added to this process's environment; resolves once the bundle is imported. */
export async function startHandlerWorker(
  bundle: string,
  env: Readonly<Record<string, string>>,
  options: { readonly execArgv?: readonly string[] } = {},
): Promise<HandlerWorker> {
  const child = fork(WORKER, [bundle], {
    // No TypeScript loader in the worker: it must hold the bundle only (plus, say, --cpu-prof when profiling).
    // Source maps on, as the Lambda environment sets them (infra: NODE_OPTIONS=--enable-source-maps); they cost
    // memory and load time. `env` can replace NODE_OPTIONS with what a template sets.
    execArgv: [...(options.execArgv ?? [])],
    env: { ...process.env, NODE_OPTIONS: '--enable-source-maps', ...env },
    // The handler's JSON logs are written, as on Lambda, and thrown away.
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const ready = await next(child, () => stderr);
  if (ready.type !== 'ready') throw new WorkerError(`handler worker said ${ready.type} before ready`);
  return {
    importMs: ready.importMs,
    importCpuMs: ready.importCpuMs,
    async run(events, context) {
      const done = next(child, () => stderr);
      child.send({ type: 'run', events, context });
      const message = await done;
      if (message.type === 'failed')
        throw new WorkerError(`event ${message.index} failed: ${message.message}`);
      if (message.type !== 'done') throw new WorkerError(`handler worker said ${message.type}`);
      return message;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        if (child.connected) child.send({ type: 'exit' });
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}
