/** `npm run bench`'s command line: the sections to run and how; pure, so the tests read it without running a bench. */

import { readScriptArgs, type ScriptArgs, unknownListValue } from './script-args.ts';

export interface BenchOptions {
  readonly quick: boolean;
  readonly sections: ReadonlySet<string>;
  /** Another detector bundle for the per-event rows, to compare builds. */
  readonly detector: string | undefined;
  /** How bursts reach the detector: `queue` (SQS, as deployed) and/or `async` (direct asynchronous invocation). */
  readonly burstModels: readonly string[];
  readonly burstSizes: readonly number[] | undefined;
  /** Write each section between its markers in docs/performance.md. */
  readonly writeDocs: boolean;
}

/** The sections of a run, in order; `--only` picks some. */
export const BENCH_SECTIONS = [
  'lambda',
  'profile',
  'cold',
  'events',
  'sweep',
  'org',
  'burst',
  'report',
] as const;
export type BenchSection = (typeof BENCH_SECTIONS)[number];
const BURST_MODELS = ['queue', 'async'];

/** `npm run bench -- --help`. */
export const BENCH_USAGE = `Usage: npm run bench [-- --quick] [-- --only=SECTION,...] [-- --detector=BUNDLE]
                     [-- --burst=queue,async] [-- --burst-sizes=N,...]

Measures the detector and the sweep against moto server (about 10 minutes of CPU
for the whole run) and writes each section's tables between its markers in
docs/performance.md; the whole run also goes to stdout and .bench/results.md.

Options:
  --only=SECTION,...   run only these sections: ${BENCH_SECTIONS.join(', ')}
  --quick              fewer processes and events per row (for a quick look)
  --detector=BUNDLE    another detector bundle (index.mjs) for the per-event and burst rows
  --burst=MODEL,...    how a burst reaches the detector: queue (the deployed SQS
                       queue, default) and/or async (direct asynchronous invocation)
  --burst-sizes=N,...  burst sizes (default: 100,300,1000)
  --no-docs            do not write docs/performance.md
  -h, --help           show this help
`;

const BENCH_OPTIONS = {
  quick: { type: 'boolean' },
  only: { type: 'string' },
  detector: { type: 'string' },
  burst: { type: 'string' },
  'burst-sizes': { type: 'string' },
  'no-docs': { type: 'boolean' },
} as const;

/** The run's options, or the usage error; pure, for the tests. */
export function benchArgs(argv: readonly string[]): ScriptArgs<BenchOptions> {
  const list = (value: string | undefined): string[] | undefined =>
    value?.split(',').map((entry) => entry.trim());
  const args = readScriptArgs(
    argv,
    BENCH_OPTIONS,
    'npm run bench',
    (values) =>
      unknownListValue('only', list(values.only) ?? [], BENCH_SECTIONS) ??
      unknownListValue('burst', list(values.burst) ?? [], BURST_MODELS) ??
      list(values['burst-sizes'])
        ?.filter((size) => !/^[1-9]\d*$/.test(size))
        .map((size) => `--burst-sizes: ${JSON.stringify(size)} is not a whole number of events`)[0],
  );
  if (args.kind !== 'run') return args;
  const { values } = args;
  return {
    kind: 'run',
    values: {
      quick: values.quick ?? false,
      sections: new Set(list(values.only) ?? BENCH_SECTIONS),
      detector: values.detector,
      burstModels: list(values.burst) ?? ['queue'],
      burstSizes: list(values['burst-sizes'])?.map(Number),
      writeDocs: !(values['no-docs'] ?? false),
    },
  };
}
