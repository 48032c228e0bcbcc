/** Times fresh `node` processes: the cold start of a bundle against bare node, interleaved so drift hits both. */

import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface ProcessVariant {
  readonly name: string;
  /** Arguments to `node`. */
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export interface ProcessTimes {
  readonly name: string;
  /** Wall time of each run, spawn to exit, in ms. */
  readonly samples: readonly number[];
}

export class ProcessFailedError extends Error {
  constructor(
    readonly variant: string,
    readonly status: number | null,
    readonly stderr: string,
  ) {
    super(`${variant}: node exited with ${status}: ${stderr.slice(0, 500)}`);
    this.name = 'ProcessFailedError';
  }
}

/**
 * Runs every variant `runs` times, round-robin (bare, bundle, bare, bundle, ...), after one unmeasured warm-up
 * round that fills the OS file cache.
 */
export function timeProcesses(variants: readonly ProcessVariant[], runs: number): ProcessTimes[] {
  const samples = variants.map(() => [] as number[]);
  for (let round = -1; round < runs; round++) {
    variants.forEach((variant, index) => {
      const start = performance.now();
      const result = spawnSync(process.execPath, [...variant.args], {
        env: { ...process.env, ...variant.env },
        stdio: ['ignore', 'ignore', 'pipe'],
        encoding: 'utf8',
      });
      const elapsed = performance.now() - start;
      if (result.status !== 0) throw new ProcessFailedError(variant.name, result.status, result.stderr ?? '');
      if (round >= 0) samples[index]?.push(elapsed);
    });
  }
  return variants.map((variant, index) => ({ name: variant.name, samples: samples[index] ?? [] }));
}
