/**
 * A Lambda-like process for the benchmark: imports a built handler bundle, then handles the events the parent
 * sends over IPC one at a time and reports each handler call's latency, its CPU time (user + system, from
 * process.cpuUsage, so it counts this process only, not the emulator) and the process's peak memory.
 * Plain JavaScript so that the process holds the bundle and nothing else (no TypeScript loader).
 *
 * With KEYWARDEN_BENCH_PROFILE_DIR set, V8's CPU profiler (the one `node --cpu-prof` drives, here through the
 * inspector so that each phase gets its own profile) records the import as init.cpuprofile and each run as
 * run-<n>.cpuprofile in that directory.
 *
 * Messages in:  { type: 'run', events: unknown[], context: object }  |  { type: 'exit' }
 * Messages out: { type: 'ready', importMs, importCpuMs }  |  { type: 'done', latencies, cpuMs, results, maxRssBytes }
 *               |  { type: 'failed', message, index }
 */

import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const bundle = process.argv[2];
if (bundle === undefined || process.send === undefined) {
  console.error('usage: fork handler-worker.mjs <bundle.mjs> with an IPC channel');
  process.exit(2);
}

/** CPU time since `start` (a process.cpuUsage() reading), in ms. */
const cpuMsSince = (start) => {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1000;
};

const profileDir = process.env.KEYWARDEN_BENCH_PROFILE_DIR;
const session = profileDir ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 250 });
}
const profileStart = () => session?.post('Profiler.start');
const profileStop = async (name) => {
  if (!session || !profileDir) return;
  const { profile } = await session.post('Profiler.stop');
  await writeFile(join(profileDir, `${name}.cpuprofile`), JSON.stringify(profile));
};
let runs = 0;

// The import is what Lambda's init phase runs: module-level code, top-level await included.
await profileStart();
const importStart = performance.now();
const importCpuStart = process.cpuUsage();
const { handler } = await import(pathToFileURL(bundle).href);
const importCpuMs = cpuMsSince(importCpuStart);
await profileStop('init');
process.send({ type: 'ready', importMs: performance.now() - importStart, importCpuMs });

process.on('message', async (message) => {
  // SDK keep-alive sockets would hold the process open.
  if (message.type === 'exit') process.exit(0);
  const latencies = [];
  const cpuMs = [];
  const results = [];
  runs += 1;
  await profileStart();
  for (const [index, event] of message.events.entries()) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    try {
      results.push(await handler(event, message.context));
    } catch (error) {
      process.send({
        type: 'failed',
        index,
        message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      return;
    }
    cpuMs.push(cpuMsSince(cpuStart));
    latencies.push(performance.now() - start);
  }
  await profileStop(`run-${runs}`);
  // maxRSS is in kibibytes.
  process.send({
    type: 'done',
    latencies,
    cpuMs,
    results,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  });
});
