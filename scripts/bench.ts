/**
 * `npm run bench`: what the detector costs, measured in one run on this machine against moto server.
 *
 * - lambda: the detector's cold path on Lambda's CPU model: CPU of init, first event and warm events inside
 *   fresh processes, modeled at the deployed memory and at 128 to 1,769 MB, with the cost of a million events;
 * - profile: where that CPU goes (node --cpu-prof), the SDK's share against KeyWarden's own code;
 * - cold start: fresh `node` processes importing the built bundle, against bare `node -e 0` (wall time);
 * - per event: AWS calls seen at a counting proxy in front of moto, and handler latency;
 * - sweep scaling: wall time and IAM calls for 100, 1,000 and 10,000 users with 1 % violators;
 * - org: an organization sweep of 20 member accounts × 500 users (1 % violators) under a member OU and its nested
 *   OU, listed through the reader role, swept through the member roles by the account queue and in one invocation,
 *   with the listing's calls, calls per account and a model of 1,000 accounts on AWS;
 * - report: `keywarden report` over 20 member accounts × 500 users (1 % violators with open findings), in each
 *   format: wall time, calls, and the size of what it writes;
 * - peak memory (max RSS) of the handler process;
 * - bursts: 100, 300 and 1,000 key events at once with Security Hub's rate limits enforced at the proxy.
 *
 * Usage: see BENCH_USAGE (`npm run bench -- --help`). Writes each section's Markdown between its markers in
 * docs/performance.md, and the whole run to stdout and .bench/results.md; progress goes to stderr.
 */

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateUserCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import {
  BatchImportFindingsCommand,
  GetFindingsCommand,
  SecurityHubClient,
} from '@aws-sdk/client-securityhub';
import { buildFinding, findingIdFor } from '../functions/core/finding.ts';
import { CANARY_USER_NAME, USER_AGENT_MARKER } from '../functions/shared/constants.ts';
import { startAwsProxy } from '../test/support/aws-proxy.ts';
import { deployForwardingRule as putForwardingRule } from '../test/support/forwarding-rule.ts';
import { startMoto } from '../test/support/moto.ts';
import { inMotoAccount } from '../test/support/moto-accounts.ts';
import { build, type Metafile, outputFiles, outputSizes } from './build.mjs';
import {
  BENCH_SECTIONS,
  BENCH_USAGE,
  type BenchSection,
  benchArgs,
  type BenchOptions as Options,
} from './lib/bench-args.ts';
import { writeBenchSection } from './lib/bench-docs.ts';
import {
  type AsyncModel,
  type BurstEvent,
  type EventOutcome,
  type QueueModel,
  runAsync,
  runQueue,
  startEnvironments,
} from './lib/burst.ts';
import { type KeyCall, keyEventEnvelope } from './lib/cloudtrail.ts';
import {
  COLD_PATH_SCENARIOS,
  type ColdPathResult,
  measureColdPath,
  profileColdPath,
} from './lib/cold-path.ts';
import { timeProcesses } from './lib/cold-start.ts';
import { byKind, bySource } from './lib/cpu-profile.ts';
import { clientConfig, createQueue, EMULATOR_REGION, emulatorEnv } from './lib/emulator.ts';
import { FULL_VCPU_MB, invocationMs, modelPath, PRICES, vcpuShare } from './lib/lambda-model.ts';
import { type BenchOrganization, createBenchOrganization } from './lib/org-layout.ts';
import { accountSweepMs, accountsWithin, organizationSweepMs } from './lib/org-model.ts';
import { valuesOrExit } from './lib/script-args.ts';
import { APPLICATION_CALLS, applicationUse, type SeededUser, seedUsers } from './lib/seed.ts';
import {
  formatBytes,
  formatCounts,
  formatMiB,
  formatMs,
  formatRatio,
  formatSeconds,
  markdownTable,
  median,
  percentile,
  total,
} from './lib/stats.ts';
import { type DeployedFunction, synthesizedFunctions } from './lib/synth.ts';
import { startHandlerWorker } from './lib/worker-client.ts';

// The bench's own SDK clients run on this machine's Node; the Lambda runs Node 22 or later.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const COLD_IMPORT_TARGET = 1.5;
const BENCH_DIR = join(ROOT, '.bench');

const progress = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};

/** Environment of a fresh process that imports the bundle, as on Lambda (which runs node ≥ 22, hence no warning). */
const COLD_ENV = {
  AWS_REGION: 'us-east-1',
  NODE_OPTIONS: '',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

function gzipBytes(files: readonly string[]): number {
  return files.reduce((sum, file) => sum + gzipSync(readFileSync(join(ROOT, file))).length, 0);
}

async function coldStart(options: Options): Promise<string> {
  const runs = options.quick ? 7 : 21;
  progress('building dist/ (split, as deployed) and .bench/single/ (one file, for comparison)');
  const split = (await build({})).find((built) => built.name === 'detector');
  const single = (await build({ outRoot: join(BENCH_DIR, 'single'), splitting: false })).find(
    (built) => built.name === 'detector',
  );
  if (split === undefined || single === undefined) throw new Error('no detector entry point to build');
  const splitEntry = relative(ROOT, join(split.outdir, 'index.mjs'));
  const singleEntry = relative(ROOT, join(single.outdir, 'index.mjs'));

  progress(`cold start: ${runs} interleaved runs of each variant`);
  const variants = [
    { name: 'bare', args: ['-e', '0'] },
    { name: 'split', args: [join(ROOT, splitEntry)] },
    { name: 'split+maps', args: ['--enable-source-maps', join(ROOT, splitEntry)] },
    { name: 'single', args: [join(ROOT, singleEntry)] },
    { name: 'single+maps', args: ['--enable-source-maps', join(ROOT, singleEntry)] },
  ].map((variant) => ({ ...variant, env: COLD_ENV }));
  const times = timeProcesses(variants, runs);
  const medianOf = (name: string): number =>
    median(times.find((entry) => entry.name === name)?.samples ?? []);
  const bare = medianOf('bare');

  const size = (metafile: Metafile): string => {
    const { eager, all } = outputFiles(metafile);
    const { eagerBytes, totalBytes } = outputSizes(metafile);
    const loaded = `${formatBytes(eagerBytes)}, gzip ${formatBytes(gzipBytes(eager))}`;
    return all.length === eager.length
      ? loaded
      : `${loaded} at import; ${formatBytes(totalBytes)} with the ${all.length - eager.length} lazy chunks`;
  };
  const row = (label: string, name: string, bytes: string): string[] => [
    label,
    formatMs(medianOf(name)),
    formatRatio(medianOf(name) / bare),
    bytes,
  ];
  const ratio = medianOf('split') / bare;
  const table = markdownTable(
    ['Fresh process', 'Median wall time', 'vs bare node', 'Bundle size (minified)'],
    [
      ['bare `node -e 0`', formatMs(bare), formatRatio(1), '–'],
      row(
        `\`node ${splitEntry}\` (npm run build, as deployed but without source maps)`,
        'split',
        size(split.metafile),
      ),
      row('… with `--enable-source-maps` (as deployed)', 'split+maps', 'same'),
      row('one-file bundle without splitting (for comparison)', 'single', size(single.metafile)),
      row('… with `--enable-source-maps`', 'single+maps', 'same'),
    ],
  );
  return `${table}\n\nContext only: wall time of a fresh process that imports the bundle (${formatRatio(ratio)} bare node for the split build; the earlier target was ${COLD_IMPORT_TARGET}×). Init now loads the SDK and primes the clients on purpose, since Lambda runs it at a full vCPU: the cold path above is the measure. Median of ${runs} runs per row, interleaved.`;
}

/** Memory sizes the model is shown at, beside the deployed one. */
const MODEL_MEMORY_MB = [128, 256, 512, 1024, FULL_VCPU_MB];
const TARGETS = { coldPathMs: 400, firstOverWarm: 2, warmViolationCpuMs: 20 } as const;

const usd = (value: number): string => `$${value < 10 ? value.toFixed(2) : value.toFixed(0)}`;

async function lambdaColdPath(
  options: Options,
  bundle: string,
  deployed: DeployedFunction,
): Promise<{ markdown: string; results: ColdPathResult[] }> {
  const processes = options.quick ? 7 : 11;
  const warmEvents = options.quick ? 10 : 20;
  const results: ColdPathResult[] = [];
  for (const [index, scenario] of COLD_PATH_SCENARIOS.entries()) {
    progress(`lambda: ${scenario.label}, ${processes} fresh processes × (1 + ${warmEvents} events)`);
    results.push(
      await measureColdPath(scenario, index, {
        bundle,
        nodeOptions: deployed.nodeOptions,
        processes,
        warmEvents,
      }),
    );
  }
  const memory = deployed.memoryMb;
  const phases = markdownTable(
    [
      'Event',
      'Init CPU',
      'First event CPU',
      'Warm event CPU',
      'First ÷ warm',
      'AWS calls (first; warm)',
      `Modeled cold path at ${memory} MB`,
      `Modeled warm event at ${memory} MB`,
      'Init wall time',
      'Max RSS',
    ],
    results.map((result) => {
      const model = modelPath(result, memory);
      return [
        result.scenario.label,
        formatMs(result.initCpuMs),
        formatMs(result.firstEventCpuMs),
        formatMs(result.warmEventCpuMs),
        formatRatio(result.firstEventCpuMs / result.warmEventCpuMs),
        `${result.firstEventCalls}; ${result.warmEventCalls}`,
        formatMs(model.coldPathMs),
        formatMs(model.warmEventMs),
        formatMs(result.initWallMs),
        formatMiB(result.maxRssBytes),
      ];
    }),
  );
  const evaluated = results.filter((result) => !result.scenario.foreign && !result.scenario.memberAccountId);
  const sizes = [...new Set([...MODEL_MEMORY_MB, memory])].sort((a, b) => a - b);
  const bySize = markdownTable(
    [
      'Memory',
      'vCPU',
      ...evaluated.flatMap((result) => [
        `${result.scenario.label}: cold path`,
        'warm event',
        '1M cold events',
        '1M warm events',
      ]),
    ],
    sizes.map((size) => [
      size === memory ? `**${size} MB (deployed)**` : `${size} MB`,
      modelPath(evaluated[0] as ColdPathResult, size).vcpu.toFixed(3),
      ...evaluated.flatMap((result) => {
        const model = modelPath(result, size);
        return [
          formatMs(model.coldPathMs),
          formatMs(model.warmEventMs),
          usd(model.coldMillionUsd),
          usd(model.warmMillionUsd),
        ];
      }),
    ]),
  );
  const violation = results.find((result) => result.scenario.expect === 'evaluated/violation/none');
  const skipped = results.find((result) => result.scenario.foreign);
  const verdicts: string[] = [];
  if (violation !== undefined) {
    const model = modelPath(violation, memory);
    const ratio = violation.firstEventCpuMs / violation.warmEventCpuMs;
    const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
    verdicts.push(
      `modeled cold path ≤ ${TARGETS.coldPathMs} ms at ${memory} MB: ${met(model.coldPathMs <= TARGETS.coldPathMs)} (${formatMs(model.coldPathMs)})`,
      `first-event CPU ≤ ${TARGETS.firstOverWarm}× a warm event's: ${met(ratio <= TARGETS.firstOverWarm)} (${formatRatio(ratio)})`,
      `warm violation ≤ ${TARGETS.warmViolationCpuMs} ms CPU: ${met(violation.warmEventCpuMs <= TARGETS.warmViolationCpuMs)} (${formatMs(violation.warmEventCpuMs)})`,
    );
  }
  if (skipped !== undefined) {
    verdicts.push(
      `skipped event free of AWS calls: ${skipped.firstEventCalls + skipped.warmEventCalls === 0 ? 'met' : 'NOT met'}`,
    );
  }
  const markdown = [
    `Bundle: \`${relative(ROOT, bundle)}\`, run as the template deploys it: \`NODE_OPTIONS=${deployed.nodeOptions}\`, ${memory} MB, ${deployed.architecture} (from the synthesized template).`,
    phases,
    `Targets: ${verdicts.join('; ')}.`,
    `By memory size (the same CPU times, modeled; cost at the ${deployed.architecture === 'arm64' ? 'arm64' : 'arm64 (not the deployed architecture)'} list price of $${PRICES.arm64PerGbSecond} per GB-s plus $${PRICES.perMillionRequests.toFixed(2)} per million requests, us-east-1; a cold event bills init and the event):`,
    bySize,
    `The model: Lambda runs init at a full vCPU and the invocation at memory ÷ ${FULL_VCPU_MB.toLocaleString('en-US')} MB of one (one JavaScript thread gains nothing above ${FULL_VCPU_MB.toLocaleString('en-US')} MB). Modeled cold path = init CPU ÷ 1 + first-event CPU ÷ share; modeled warm event = warm CPU ÷ share. CPU time is user + system from \`process.cpuUsage()\` inside each fresh process (the import of the bundle for init, each handler call for the events), median of ${processes} processes per row, ${warmEvents} warm events per process (their median per process). Waiting for AWS is not CPU and not modeled: each call adds its round trip at every memory size, and bills it. A violation reads its keys' usage evidence (one LookupEvents per active key), served by the proxy: ${APPLICATION_CALLS} records of an application's calls signed with the older key, one page.`,
  ].join('\n\n');
  return { markdown, results };
}

/** Where the CPU of init, the first event and warm events goes, by source, from V8's CPU profiler. */
async function cpuProfiles(options: Options, bundle: string, deployed: DeployedFunction): Promise<string> {
  const scenario = COLD_PATH_SCENARIOS.find((s) => s.expect === 'evaluated/violation/none');
  if (scenario === undefined) throw new Error('no violation scenario to profile');
  const warmEvents = options.quick ? 100 : 300;
  progress(`profile: init, first event and ${warmEvents} warm events with the CPU profiler on`);
  const profiles = await profileColdPath(scenario, 10, {
    bundle,
    nodeOptions: deployed.nodeOptions,
    warmEvents,
  });
  const KINDS = ['sdk', 'ours', 'logger', 'other', 'node', 'gc'] as const;
  const row = (label: string, times: typeof profiles.init, per: number): string[] => {
    const sums = byKind(times);
    const js = sums.sdk + sums.ours + sums.logger + sums.other;
    return [
      label,
      ...KINDS.map((kind) => formatMs(sums[kind] / per)),
      js > 0 ? `${Math.round((100 * sums.sdk) / js)} %` : '– (no JavaScript sampled)',
    ];
  };
  const table = markdownTable(
    [
      'Phase (violation, detect only)',
      'AWS SDK',
      'KeyWarden',
      'Logger (Powertools)',
      'Other packages',
      'Node and V8',
      'GC',
      "SDK's share of the packages' JavaScript",
    ],
    [
      row('init', profiles.init, 1),
      row('first event', profiles.firstEvent, 1),
      row(`warm event (mean of ${warmEvents})`, profiles.warmEvents, warmEvents),
    ],
  );
  const top = (kind: string, count: number) =>
    bySource(profiles.warmEvents)
      .filter((entry) => entry.kind === kind)
      .slice(0, count)
      .map((entry) => `\`${entry.source}\` ${formatMs(entry.ms / warmEvents)}`)
      .join(', ');
  return [
    table,
    `Self time by original source (mapped through the bundle's source maps), sampled every 250 µs by V8's CPU profiler (the one \`node --cpu-prof\` drives, here started and stopped around each phase through \`node:inspector\`) in one process. Sampled time is wall time on the main thread: "Node and V8" also holds time spent inside native calls (connect, write) and is the HTTP client, streams, compiling and builtins such as JSON; the profiler slows what it samples, so compare shares, not these times with the CPU times above. Per warm event, KeyWarden's own code: ${top('ours', 6) || 'none sampled'}; the SDK's: ${top('sdk', 4)}.`,
  ].join('\n\n');
}

const ACCOUNT_ID = '123456789012';
const lambdaContext = (name: string) => ({
  invokedFunctionArn: `arn:aws:lambda:${EMULATOR_REGION}:${ACCOUNT_ID}:function:${name}`,
  awsRequestId: 'bench',
});

interface EventScenario {
  readonly label: string;
  readonly keys: number;
  /** Keys deactivated after seeding, oldest first. */
  readonly inactive?: number;
  readonly env: Readonly<Record<string, string>>;
  /** The event the detector gets for this user. */
  readonly call: (
    user: SeededUser,
  ) => Pick<KeyCall, 'eventName' | 'accessKeyId' | 'status' | 'userAgent' | 'actorRoleArn'> &
    Partial<Pick<KeyCall, 'actorUserName'>>;
  /** What the handler must return, or the benchmark is measuring something else. */
  readonly expect: string;
  /** Another principal made the key usable: a threat finding, outside the compliant-event target. */
  readonly threat?: true;
}

const OWN_USER_AGENT = `aws-sdk-js/3.1169.0 ua/2.1 os/linux lang/js md/nodejs#22 api/iam#3.1169.0 ${USER_AGENT_MARKER}/0.1.0`;
/** The detector's role as the stack passes it in OWN_ROLE_ARNS; its sessions' calls are KeyWarden's own. */
const OWN_ROLE_ARN = 'arn:aws:iam::123456789012:role/keywarden-detector';

/** The user's newest key was just created. */
const created = (user: SeededUser) => ({
  eventName: 'CreateAccessKey' as const,
  accessKeyId: user.accessKeyIds.at(-1) ?? '',
});

/** The user rotated: a second key was created, then the old one deactivated, which is this event. */
const rotated = (user: SeededUser) => ({
  eventName: 'UpdateAccessKey' as const,
  accessKeyId: user.accessKeyIds[0] ?? '',
  status: 'Inactive' as const,
});

const EVENT_SCENARIOS: readonly EventScenario[] = [
  {
    label: 'compliant: first key created',
    keys: 1,
    env: {},
    call: created,
    expect: 'evaluated/compliant/none',
  },
  {
    label: 'compliant: old key deactivated (rotation done)',
    keys: 2,
    inactive: 1,
    env: {},
    call: rotated,
    expect: 'evaluated/compliant/none',
  },
  {
    label: '… the same, with a notification bus',
    keys: 2,
    inactive: 1,
    env: { EVENT_BUS_NAME: 'keywarden-bench' },
    call: rotated,
    expect: 'evaluated/compliant/none',
  },
  { label: 'violation, detect only', keys: 2, env: {}, call: created, expect: 'evaluated/violation/none' },
  {
    label: 'violation, deactivate',
    keys: 2,
    env: { REMEDIATION_MODE: 'deactivate' },
    call: created,
    expect: 'evaluated/violation/deactivated',
  },
  {
    label: 'first key created by another IAM user (threat finding)',
    keys: 1,
    env: {},
    call: (user) => ({ ...created(user), actorUserName: 'bench-admin' }),
    expect: 'evaluated/compliant/none',
    threat: true,
  },
  {
    label: "skipped: KeyWarden's own UpdateAccessKey (recognised by its role)",
    keys: 1,
    env: { OWN_ROLE_ARNS: OWN_ROLE_ARN },
    call: (user) => ({ ...rotated(user), userAgent: OWN_USER_AGENT, actorRoleArn: OWN_ROLE_ARN }),
    expect: 'skipped/own-remediation',
  },
];

function outcomeOf(result: unknown): string {
  const r = result as { status?: string; verdict?: string; action?: string; reason?: string };
  return r.status === 'skipped' ? `skipped/${r.reason}` : `${r.status}/${r.verdict}/${r.action}`;
}

interface EventRow {
  readonly scenario: EventScenario;
  readonly callsPerEvent: number;
  readonly counts: Record<string, number>;
  readonly iterations: number;
  readonly latencies: readonly number[];
  readonly firstEventMs: number;
  readonly maxRssBytes: number;
}

/**
 * One scenario on a moto server of its own: moto ignores GetFindings filters, so findings left by other
 * scenarios would add result pages (and calls) that AWS, which filters by finding Id, never returns.
 */
async function measureScenario(
  scenario: EventScenario,
  index: number,
  iterations: number,
  bundle: string,
): Promise<EventRow> {
  const moto = await startMoto();
  const proxy = await startAwsProxy(moto.endpoint);
  try {
    const bus = scenario.env.EVENT_BUS_NAME;
    if (bus !== undefined) {
      const eventBridge = new EventBridgeClient(clientConfig(moto.endpoint));
      await eventBridge.send(new CreateEventBusCommand({ Name: bus }));
      eventBridge.destroy();
    }
    const iam = new IAMClient(clientConfig(moto.endpoint));
    const users = await seedUsers(
      iam,
      Array.from({ length: iterations + 1 }, (_, n) => ({
        userName: `bench-e${index}-${n}`,
        keys: scenario.keys,
        inactive: scenario.inactive ?? 0,
      })),
    );
    iam.destroy();
    // A violation reads its keys' usage evidence: one page of an application's calls for the older key.
    proxy.serveLookupEvents(applicationUse(users, ACCOUNT_ID));
    const events = users.map((user, n) =>
      keyEventEnvelope(
        {
          // The user acts on its own keys unless the scenario names another caller (attribution).
          actorUserName: user.userName,
          ...scenario.call(user),
          userName: user.userName,
          accountId: ACCOUNT_ID,
          region: EMULATOR_REGION,
          eventTime: new Date(Date.UTC(2025, 0, 1, 0, 0, n)),
          eventId: `00000000-0000-4000-8000-${String(index).padStart(4, '0')}${String(n).padStart(8, '0')}`,
        },
        `bench-${index}-${n}`,
      ),
    );
    const worker = await startHandlerWorker(bundle, { ...emulatorEnv(proxy.endpoint), ...scenario.env });
    try {
      const context = lambdaContext('keywarden-detector');
      // The first event after a cold start loads the SDK chunks; it is reported apart and not counted.
      const first = await worker.run(events.slice(0, 1), context);
      proxy.reset();
      const measured = await worker.run(events.slice(1), context);
      const counts = proxy.countsByOperation();
      for (const result of [...first.results, ...measured.results]) {
        if (outcomeOf(result) !== scenario.expect) {
          throw new Error(
            `${scenario.label}: the handler returned ${outcomeOf(result)}, expected ${scenario.expect}`,
          );
        }
      }
      return {
        scenario,
        callsPerEvent: total(counts) / iterations,
        counts,
        iterations,
        latencies: measured.latencies,
        firstEventMs: first.latencies[0] ?? Number.NaN,
        maxRssBytes: measured.maxRssBytes,
      };
    } finally {
      await worker.stop();
    }
  } finally {
    await proxy.close();
    await moto.stop();
  }
}

async function perEvent(options: Options, bundle: string): Promise<{ table: string; rows: EventRow[] }> {
  const iterations = options.quick ? 20 : 100;
  const rows: EventRow[] = [];
  for (const [index, scenario] of EVENT_SCENARIOS.entries()) {
    progress(`per event: ${scenario.label}, ${iterations} events`);
    rows.push(await measureScenario(scenario, index, iterations, bundle));
  }
  const table = markdownTable(
    [
      'Event',
      'AWS calls per event',
      'Calls by operation',
      'Median',
      'p99',
      'First event after cold start',
      'Max RSS',
    ],
    rows.map((row) => [
      row.scenario.label,
      String(row.callsPerEvent),
      formatCounts(row.counts, row.iterations),
      formatMs(median(row.latencies)),
      formatMs(percentile(row.latencies, 99)),
      formatMs(row.firstEventMs),
      formatMiB(row.maxRssBytes),
    ]),
  );
  return { table, rows };
}

interface SweepRow {
  readonly users: number;
  readonly violators: number;
  readonly seedMs: number;
  readonly source: string;
  readonly wallMs: number;
  readonly counts: Record<string, number>;
  readonly summary: { violating?: number; usersScanned?: number };
  readonly maxRssBytes: number;
  /** CPU time of the sweep process during the run (user + system). */
  readonly cpuMs: number;
}

/** One moto server per size, seeded in parallel: 1 key per user, a second active key for 1 % of them. */
async function measureSweep(users: number, bundle: string, nodeOptions: string): Promise<SweepRow[]> {
  const violators = Math.max(1, Math.round(users / 100));
  const moto = await startMoto();
  const proxy = await startAwsProxy(moto.endpoint);
  try {
    const iam = new IAMClient(clientConfig(moto.endpoint));
    const seedStart = Date.now();
    // Violators spread evenly through the listing.
    const every = Math.floor(users / violators);
    await seedUsers(
      iam,
      Array.from({ length: users }, (_, n) => ({
        userName: `sweep-${String(n).padStart(5, '0')}`,
        keys: n % every === 0 && n / every < violators ? 2 : 1,
      })),
      16,
    );
    iam.destroy();
    const seedMs = Date.now() - seedStart;
    progress(`sweep: seeded ${users.toLocaleString('en-US')} users in ${(seedMs / 1000).toFixed(1)} s`);
    const worker = await startHandlerWorker(bundle, {
      ...emulatorEnv(proxy.endpoint),
      NODE_OPTIONS: nodeOptions,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    try {
      const rows: SweepRow[] = [];
      for (const source of ['credential-report', 'full']) {
        proxy.reset();
        const run = await worker.run([{ sweepSource: source }], lambdaContext('keywarden-sweep'));
        rows.push({
          users,
          violators,
          seedMs,
          source,
          wallMs: run.latencies[0] ?? Number.NaN,
          counts: proxy.countsByOperation(),
          summary: run.results[0] as SweepRow['summary'],
          maxRssBytes: run.maxRssBytes,
          cpuMs: run.cpuMs[0] ?? Number.NaN,
        });
        progress(`sweep: ${users} users, ${source}: ${formatSeconds(run.latencies[0] ?? Number.NaN)}`);
        const found = (run.results[0] as SweepRow['summary']).violating;
        if (found !== violators) {
          throw new Error(
            `sweep of ${users} users (${source}) found ${found} violators, seeded ${violators}`,
          );
        }
      }
      return rows;
    } finally {
      await worker.stop();
    }
  } finally {
    await proxy.close();
    await moto.stop();
  }
}

async function sweepScaling(options: Options, bundle: string, deployed: DeployedFunction): Promise<string> {
  const sizes = options.quick ? [100, 1_000] : [100, 1_000, 10_000];
  const rows: SweepRow[] = [];
  for (const users of sizes) {
    progress(`sweep: seeding ${users.toLocaleString('en-US')} users`);
    rows.push(...(await measureSweep(users, bundle, deployed.nodeOptions)));
  }
  const only = (counts: Record<string, number>, prefix: string) =>
    Object.fromEntries(Object.entries(counts).filter(([operation]) => operation.startsWith(prefix)));
  const table = markdownTable(
    [
      'Users (violators)',
      'Path',
      'Wall time',
      'IAM calls',
      'IAM calls by operation',
      'Security Hub calls',
      'Budget 5 + 3 × violators',
      'CPU',
      'CPU per user',
      `CPU modeled at ${deployed.memoryMb} MB`,
      'Max RSS',
    ],
    rows.map((row) => {
      const iamCalls = total(row.counts, 'iam.');
      const budget = 5 + 3 * row.violators;
      return [
        `${row.users.toLocaleString('en-US')} (${row.violators})`,
        row.source === 'full' ? 'full listing' : 'credential report',
        formatSeconds(row.wallMs),
        iamCalls.toLocaleString('en-US'),
        formatCounts(only(row.counts, 'iam.')),
        formatCounts(only(row.counts, 'securityhub.')),
        row.source === 'full' ? '–' : `${budget} (${iamCalls <= budget ? 'within' : 'OVER'})`,
        formatMs(row.cpuMs),
        `${(row.cpuMs / row.users).toFixed(2)} ms`,
        formatSeconds(invocationMs(row.cpuMs, deployed.memoryMb)),
        formatMiB(row.maxRssBytes),
      ];
    }),
  );
  const largest = rows.filter((row) => row.source === 'credential-report').at(-1);
  const verdict =
    largest === undefined
      ? ''
      : `Target: ${largest.users.toLocaleString('en-US')} users with ${largest.violators} violators within ${5 + 3 * largest.violators} IAM calls on the report path: ${total(largest.counts, 'iam.') <= 5 + 3 * largest.violators ? 'met' : 'NOT met'} (${total(largest.counts, 'iam.')}). `;
  const seeding = rows
    .filter((row) => row.source === 'full')
    .map((row) => `${row.users.toLocaleString('en-US')} in ${formatSeconds(row.seedMs)}`)
    .join(', ');
  return `${table}\n\n${verdict}One sweep process per size (\`NODE_OPTIONS=${deployed.nodeOptions}\`, as the template sets) runs the report path, then the full listing (Max RSS is that process's peak so far). CPU is the sweep process's own (\`process.cpuUsage()\`, not moto's), modeled at the deployed ${deployed.memoryMb} MB (${vcpuShare(deployed.memoryMb).toFixed(3)} vCPU) as CPU ÷ share: a lower bound on the duration, to which IAM's own latency adds (one \`ListAccessKeys\` per user on the full listing, 8 at a time). Seeding moto, 16 users at a time: ${seeding}.`;
}

const ORG_MEMBERS = 20;
const ORG_USERS_PER_ACCOUNT = 500;
const ORG_MEMBER_ROLE = 'KeyWardenMember';
/** The bench organization's management account, and how many accounts sit in an OU outside the member OU. */
const ORG_MANAGEMENT = '999988887777';
const ORG_OUTSIDE = 2;

/** An IAM client that acts in `accountId` of moto (its `x-moto-account-id` header), for seeding. */
function iamInAccount(endpoint: string, accountId: string): IAMClient {
  return inMotoAccount(new IAMClient(clientConfig(endpoint)), accountId);
}

/** Runs node with `args` to its end, without blocking this process's event loop. */
function runProcess(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

interface ReportRun {
  readonly format: string;
  readonly wallMs: number;
  readonly bytes: number;
  readonly counts: Record<string, number>;
  readonly code: number | null;
}

/**
 * `keywarden report --accounts` (20 member accounts × 500 users, 1 % with two active keys and an open finding each)
 * run as a process in each format, through the member role, against moto behind the counting proxy.
 */
async function reportBench(options: Options): Promise<string> {
  const members = options.quick ? 5 : ORG_MEMBERS;
  const memberIds = Array.from({ length: members }, (_, n) => String(300_000_000_000 + n));
  const violatorsPerAccount = Math.max(1, Math.round(ORG_USERS_PER_ACCOUNT / 100));
  const every = Math.floor(ORG_USERS_PER_ACCOUNT / violatorsPerAccount);
  const moto = await startMoto();
  const proxy = await startAwsProxy(moto.endpoint);
  const work = join(BENCH_DIR, 'report');
  await mkdir(work, { recursive: true });
  try {
    const seedStart = Date.now();
    for (const accountId of memberIds) {
      const iam = inMotoAccount(new IAMClient(clientConfig(moto.endpoint)), accountId);
      const seeded = await seedUsers(
        iam,
        Array.from({ length: ORG_USERS_PER_ACCOUNT }, (_, n) => ({
          userName: `rep-${String(n).padStart(4, '0')}`,
          keys: n % every === 0 && n / every < violatorsPerAccount ? 2 : 1,
        })),
        16,
      );
      // Each violator's open finding, as the detector builds it.
      const account = { accountId, partition: 'aws', region: EMULATOR_REGION };
      const findings = [];
      for (const user of seeded.filter((u) => u.accessKeyIds.length === 2)) {
        const { AccessKeyMetadata = [] } = await iam.send(
          new ListAccessKeysCommand({ UserName: user.userName }),
        );
        const keys = AccessKeyMetadata.map((k) => ({
          accessKeyId: k.AccessKeyId ?? '',
          status: k.Status ?? 'Active',
          createDate: k.CreateDate ?? new Date(),
          lastUsed: { date: undefined, serviceName: undefined, region: undefined },
        }));
        const [older, newer] = keys;
        if (older === undefined || newer === undefined) continue;
        findings.push(
          buildFinding({
            account,
            evaluation: {
              verdict: 'violation',
              snapshot: {
                user: {
                  userName: user.userName,
                  userId: `AIDA${user.userName.toUpperCase()}`,
                  arn: `arn:aws:iam::${accountId}:user/${user.userName}`,
                  path: '/',
                  createDate: new Date(),
                  tags: {},
                },
                keys,
              },
              activeKeys: keys,
              keyToKeep: newer,
              keysToDeactivate: [older],
              keepReason: 'it is the newest active key (KEEP_KEY=newest)',
              graceUntil: undefined,
            },
            action: { kind: 'none' },
            trigger: { kind: 'sweep', origin: 'schedule' },
            updatedAt: new Date(),
          }),
        );
      }
      const hub = inMotoAccount(new SecurityHubClient(clientConfig(moto.endpoint)), accountId);
      await hub.send(new BatchImportFindingsCommand({ Findings: findings }));
      iam.destroy();
      hub.destroy();
    }
    const seedMs = Date.now() - seedStart;
    progress(
      `report: seeded ${members} accounts × ${ORG_USERS_PER_ACCOUNT} users in ${formatSeconds(seedMs)}`,
    );
    const runs: ReportRun[] = [];
    for (const format of ['html', 'csv', 'json', 'ocsf']) {
      const output = join(work, `report.${format === 'ocsf' ? 'ocsf.jsonl' : format}`);
      proxy.reset();
      const started = Date.now();
      // Asynchronous: the counting proxy runs in this process and must keep answering meanwhile.
      const result = await runProcess(
        [
          join(ROOT, 'functions', 'cli', 'bin.mjs'),
          'report',
          '--accounts',
          memberIds.join(','),
          '--role-name',
          ORG_MEMBER_ROLE,
          '--format',
          format,
          '--output',
          output,
        ],
        {
          ...process.env,
          ...emulatorEnv(proxy.endpoint),
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        },
      );
      const wallMs = Date.now() - started;
      if (result.status !== 0)
        throw new Error(`keywarden report --format ${format} exited ${result.status}: ${result.stderr}`);
      runs.push({
        format,
        wallMs,
        bytes: readFileSync(output).length,
        counts: proxy.countsByOperation(),
        code: result.status,
      });
      progress(`report: ${format} in ${formatSeconds(wallMs)}`);
    }
    const html = readFileSync(join(work, 'report.html'));
    const table = markdownTable(
      ['Format', 'Wall time', 'Output', 'gzip', 'AWS calls'],
      runs.map((run) => [
        run.format,
        formatSeconds(run.wallMs),
        formatBytes(run.bytes),
        formatBytes(
          gzipSync(readFileSync(join(work, `report.${run.format === 'ocsf' ? 'ocsf.jsonl' : run.format}`)))
            .length,
        ),
        `${total(run.counts)} (${formatCounts(run.counts)})`,
      ]),
    );
    return `${table}

${members} member accounts × ${ORG_USERS_PER_ACCOUNT} users (${violatorsPerAccount} per account with two active keys and an open finding), read through the member role ${ORG_MEMBER_ROLE}, 8 accounts at a time, by \`keywarden report --accounts … --format F --output FILE\` run as a process from the TypeScript sources (\`functions/cli/bin.mjs\`, which loads tsx: about a second of the wall time is that). Calls counted at the proxy in front of moto, which answers without network latency; on AWS each account adds an AssumeRole, a credential report (IAM regenerates it at most every 4 hours; generating one takes seconds) and GetFindings pages at 3 requests/s. The HTML page is ${formatBytes(html.length)} (${formatBytes(gzipSync(html).length)} gzipped). Seeding moto: ${formatSeconds(seedMs)}.`;
  } finally {
    await proxy.close();
    await moto.stop();
  }
}

/** An SQS event source mapping's batch of one message, as Lambda hands it to the sweep. */
function sqsBatch(body: string, queueArn: string): object {
  return {
    Records: [
      {
        messageId: 'bench',
        receiptHandle: 'bench',
        body,
        attributes: {},
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn,
        awsRegion: EMULATOR_REGION,
      },
    ],
  };
}

interface OrgAccountRow {
  readonly accountId: string;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly counts: Record<string, number>;
  readonly violating: number;
}

/**
 * 20 member accounts of 500 users on one moto server, swept by the built sweep bundle in organization mode: the
 * schedule queues the accounts, then one process sweeps each account's message in turn (as one Lambda instance
 * of the queue's mapping would), calls counted per account at the proxy; then the same accounts in one
 * invocation, 4 at a time. From the measured per-account figures, a model of 1,000 accounts on AWS.
 */
async function organizationSweep(
  options: Options,
  bundle: string,
  deployed: DeployedFunction,
): Promise<string> {
  const members = options.quick ? 5 : ORG_MEMBERS;
  const violatorsPerAccount = Math.max(1, Math.round(ORG_USERS_PER_ACCOUNT / 100));
  const every = Math.floor(ORG_USERS_PER_ACCOUNT / violatorsPerAccount);
  const moto = await startMoto();
  const proxy = await startAwsProxy(moto.endpoint);
  try {
    const organization = await createBenchOrganization(moto.endpoint, ORG_MANAGEMENT, members, ORG_OUTSIDE);
    const { memberIds } = organization;
    // The management account holds the reader role and a member stack deployed by hand; it has no users here.
    const queuedIds = new Set([ACCOUNT_ID, ORG_MANAGEMENT, ...memberIds]);
    const seedStart = Date.now();
    for (const accountId of memberIds) {
      const iam = iamInAccount(moto.endpoint, accountId);
      await seedUsers(
        iam,
        Array.from({ length: ORG_USERS_PER_ACCOUNT }, (_, n) => ({
          userName: `org-${String(n).padStart(4, '0')}`,
          keys: n % every === 0 && n / every < violatorsPerAccount ? 2 : 1,
        })),
        16,
      );
      iam.destroy();
    }
    // What the member stack deploys in each member: the forwarding rule the coverage check reads.
    for (const accountId of memberIds) await deployForwardingRule(moto.endpoint, accountId);
    // What the stacks deploy for the canary: its user in every account swept, its table in the central one.
    for (const accountId of queuedIds) {
      const iam = iamInAccount(moto.endpoint, accountId);
      await iam.send(new CreateUserCommand({ UserName: CANARY_USER_NAME }));
      iam.destroy();
    }
    await createCanaryTable(moto.endpoint);
    const seedMs = Date.now() - seedStart;
    progress(`org: seeded ${members} accounts × ${ORG_USERS_PER_ACCOUNT} users in ${formatSeconds(seedMs)}`);
    const queue = await createQueue(moto.endpoint, 'keywarden-sweep-accounts');
    // The SDK sends to the queue URL's host: the proxy's, so the planner's calls are counted.
    const queueUrl = new URL(new URL(queue.url).pathname, proxy.endpoint).toString();
    const baseEnv = {
      ...emulatorEnv(proxy.endpoint),
      NODE_OPTIONS: deployed.nodeOptions,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      MEMBER_ROLE_NAME: ORG_MEMBER_ROLE,
      // The members are the StackSet's targets: the ACTIVE accounts under its OU, listed through the reader role.
      ORGANIZATION_ROLE_ARN: `arn:aws:iam::${ORG_MANAGEMENT}:role/KeyWardenOrganizationReader`,
      MEMBER_OUS: organization.memberOu,
      ORGANIZATION_BUS_ARN: ORG_BUS_ARN,
      CANARY_TABLE_NAME: ORG_CANARY_TABLE,
    };
    const context = lambdaContext('keywarden-sweep');

    // The queue path: plan, then one account per invocation.
    const queued = await startHandlerWorker(bundle, { ...baseEnv, SWEEP_QUEUE_URL: queueUrl });
    const rows: OrgAccountRow[] = [];
    let planMs: number;
    let planCounts: Record<string, number>;
    try {
      proxy.reset();
      const plan = await queued.run([{}], context);
      planMs = plan.latencies[0] ?? Number.NaN;
      planCounts = proxy.countsByOperation();
      const bodies = await queue.drain(members + 10);
      const queuedAccounts = bodies.map((body) => (JSON.parse(body) as { accountId: string }).accountId);
      if (queuedAccounts.length !== queuedIds.size || queuedAccounts.some((id) => !queuedIds.has(id)))
        throw new Error(`the planner queued ${queuedAccounts.join(', ')}, not ${[...queuedIds].join(', ')}`);
      for (const body of bodies) {
        const { accountId } = JSON.parse(body) as { accountId: string };
        proxy.reset();
        const run = await queued.run([sqsBatch(body, queue.arn)], context);
        const result = run.results[0] as { violating: number };
        rows.push({
          accountId,
          wallMs: run.latencies[0] ?? Number.NaN,
          cpuMs: run.cpuMs[0] ?? Number.NaN,
          counts: proxy.countsByOperation(),
          violating: result.violating,
        });
        const expected = memberIds.includes(accountId) ? violatorsPerAccount : 0;
        if (result.violating !== expected) {
          throw new Error(
            `the sweep of ${accountId} found ${result.violating} violators, seeded ${expected}`,
          );
        }
      }
    } finally {
      await queued.stop();
    }
    progress(`org: queue path, ${rows.length} accounts swept one per invocation`);
    const { coverageCalls, canaryCalls } = await coverageCallsPerMember(
      bundle,
      baseEnv,
      queue,
      memberIds[0] as string,
      proxy,
    );

    // The same accounts in one invocation (no queue), 4 at a time: findings now exist, as on a second sweep.
    const inProcess = await startHandlerWorker(bundle, baseEnv);
    let oneInvocation: { wallMs: number; counts: Record<string, number>; violating: number };
    try {
      proxy.reset();
      const run = await inProcess.run([{}], context);
      oneInvocation = {
        wallMs: run.latencies[0] ?? Number.NaN,
        counts: proxy.countsByOperation(),
        violating: (run.results[0] as { violating: number }).violating,
      };
    } finally {
      await inProcess.stop();
    }
    progress(`org: one invocation, ${formatSeconds(oneInvocation.wallMs)}`);
    return orgMarkdown({
      members,
      memberIds,
      organization,
      rows,
      planMs,
      planCounts,
      oneInvocation,
      seedMs,
      deployed,
      violatorsPerAccount,
      coverageCalls,
      canaryCalls,
    });
  } finally {
    await proxy.close();
    await moto.stop();
  }
}

const ORG_BUS_ARN = `arn:aws:events:${EMULATOR_REGION}:${ACCOUNT_ID}:event-bus/keywarden-organization`;

/** The member stack's forwarding rule in `accountId`: the detector's pattern, to the central bus. */
async function deployForwardingRule(endpoint: string, accountId: string): Promise<void> {
  const events = inMotoAccount(new EventBridgeClient(clientConfig(endpoint)), accountId);
  await putForwardingRule(events, ORG_BUS_ARN);
  events.destroy();
}

const ORG_CANARY_TABLE = 'keywarden-canary';

/** The canary table the stack creates in the central account: one item per account. */
async function createCanaryTable(endpoint: string): Promise<void> {
  const dynamodb = new DynamoDBClient(clientConfig(endpoint));
  await dynamodb.send(
    new CreateTableCommand({
      TableName: ORG_CANARY_TABLE,
      KeySchema: [{ AttributeName: 'accountId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'accountId', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  dynamodb.destroy();
}

/** The calls `after` makes that `before` does not, by operation. */
function addedCalls(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const operations = new Set([...Object.keys(before), ...Object.keys(after)]);
  return Object.fromEntries(
    [...operations]
      .map((operation) => [operation, (after[operation] ?? 0) - (before[operation] ?? 0)] as const)
      .filter(([, added]) => added !== 0),
  );
}

/**
 * What the coverage check and the canary add to one member's sweep: the same account swept three more times (all
 * second sweeps), without ORGANIZATION_BUS_ARN and CANARY_TABLE_NAME, with the bus only, and with both; calls
 * counted at the proxy; the differences, by operation.
 */
async function coverageCallsPerMember(
  bundle: string,
  env: Record<string, string | undefined>,
  queue: { readonly url: string; readonly arn: string },
  accountId: string,
  proxy: Awaited<ReturnType<typeof startAwsProxy>>,
): Promise<{ coverageCalls: Record<string, number>; canaryCalls: Record<string, number> }> {
  const queueUrl = new URL(new URL(queue.url).pathname, proxy.endpoint).toString();
  const body = JSON.stringify({ accountId, sweepSource: 'credential-report' });
  const countsWith = async (workerEnv: Record<string, string | undefined>) => {
    const worker = await startHandlerWorker(bundle, { ...workerEnv, SWEEP_QUEUE_URL: queueUrl });
    try {
      proxy.reset();
      await worker.run([sqsBatch(body, queue.arn)], lambdaContext('keywarden-sweep'));
      return proxy.countsByOperation();
    } finally {
      await worker.stop();
    }
  };
  const { ORGANIZATION_BUS_ARN: _bus, CANARY_TABLE_NAME: _table, ...neither } = env;
  const { CANARY_TABLE_NAME: _canary, ...coverageOnly } = env;
  const before = await countsWith(neither);
  const withCoverage = await countsWith(coverageOnly);
  const withBoth = await countsWith(env);
  return { coverageCalls: addedCalls(before, withCoverage), canaryCalls: addedCalls(withCoverage, withBoth) };
}

function orgMarkdown(run: {
  members: number;
  memberIds: readonly string[];
  organization: BenchOrganization;
  rows: readonly OrgAccountRow[];
  planMs: number;
  planCounts: Record<string, number>;
  oneInvocation: { wallMs: number; counts: Record<string, number>; violating: number };
  seedMs: number;
  deployed: DeployedFunction;
  violatorsPerAccount: number;
  coverageCalls: Record<string, number>;
  canaryCalls: Record<string, number>;
}): string {
  const memberRows = run.rows.filter((row) => run.memberIds.includes(row.accountId));
  const own = run.rows.find((row) => row.accountId === ACCOUNT_ID);
  const management = run.rows.find((row) => row.accountId === ORG_MANAGEMENT);
  const callsOf = (row: OrgAccountRow) => total(row.counts);
  const perAccount = {
    wallMs: median(memberRows.map((row) => row.wallMs)),
    cpuMs: median(memberRows.map((row) => row.cpuMs)),
    calls: median(memberRows.map(callsOf)),
  };
  const byOperation = (rows: readonly OrgAccountRow[]) => {
    const operations = new Set(rows.flatMap((row) => Object.keys(row.counts)));
    const spread = [...operations].sort().map((operation) => {
      const values = rows.map((row) => row.counts[operation] ?? 0);
      const low = Math.min(...values);
      const high = Math.max(...values);
      return `${operation} ${low === high ? low : `${low}–${high}`}`;
    });
    return spread.join(', ');
  };
  const assumeRoles = total(run.oneInvocation.counts, 'sts.AssumeRole');
  const measured = markdownTable(
    ['What', 'Wall time', 'AWS calls', 'Calls by operation'],
    [
      [
        `planner: members listed under ${run.organization.ousWalked} OUs, ${run.rows.length} accounts queued`,
        formatSeconds(run.planMs),
        String(total(run.planCounts)),
        formatCounts(run.planCounts),
      ],
      [
        `one member account per invocation (median of ${memberRows.length})`,
        `${formatSeconds(perAccount.wallMs)} (${formatSeconds(Math.min(...memberRows.map((r) => r.wallMs)))}–${formatSeconds(Math.max(...memberRows.map((r) => r.wallMs)))})`,
        String(perAccount.calls),
        byOperation(memberRows),
      ],
      ...(own
        ? [
            [
              'the own account (no users; trail check)',
              formatSeconds(own.wallMs),
              String(callsOf(own)),
              formatCounts(own.counts),
            ],
          ]
        : []),
      ...(management
        ? [
            [
              'the management account (no users)',
              formatSeconds(management.wallMs),
              String(callsOf(management)),
              formatCounts(management.counts),
            ],
          ]
        : []),
      [
        `queue path, ${run.rows.length} invocations one after another`,
        formatSeconds(run.rows.reduce((sum, row) => sum + row.wallMs, 0) + run.planMs),
        String(run.rows.reduce((sum, row) => sum + callsOf(row), total(run.planCounts))),
        `sts.AssumeRole ${run.rows.reduce((sum, row) => sum + (row.counts['sts.AssumeRole'] ?? 0), 0)}`,
      ],
      [
        `one invocation, ${run.rows.length} accounts 4 at a time (second sweep)`,
        formatSeconds(run.oneInvocation.wallMs),
        String(total(run.oneInvocation.counts)),
        `sts.AssumeRole ${assumeRoles}; violators found ${run.oneInvocation.violating}`,
      ],
    ],
  );
  const memoryMb = run.deployed.memoryMb;
  const cost = { calls: perAccount.calls, cpuMs: perAccount.cpuMs };
  const scenarios = [
    { label: 'report ready in 5 s', reportGenerationMs: 5_000 },
    { label: 'report ready in 30 s', reportGenerationMs: 30_000 },
    { label: 'report ready in 2 min', reportGenerationMs: 120_000 },
  ];
  const roundTripMs = 50;
  const sixHours = 6 * 3_600_000;
  const model = markdownTable(
    [
      'Per account on AWS',
      'One account',
      '1,000 accounts at 10 (default)',
      'at 50',
      'at 200',
      'Accounts within 6 h at 10',
    ],
    scenarios.map((scenario) => {
      const oneMs = accountSweepMs(cost, {
        reportGenerationMs: scenario.reportGenerationMs,
        roundTripMs,
        memoryMb,
      });
      const minutes = (concurrency: number) =>
        `${(organizationSweepMs(1_000, concurrency, oneMs) / 60_000).toFixed(0)} min`;
      return [
        scenario.label,
        formatSeconds(oneMs),
        minutes(10),
        minutes(50),
        minutes(200),
        accountsWithin(sixHours, 10, oneMs).toLocaleString('en-US'),
      ];
    }),
  );
  return `${measured}

Each member account: ${ORG_USERS_PER_ACCOUNT} users, ${run.violatorsPerAccount} with two active keys. Per member account the sweep makes ${perAccount.calls} calls (${byOperation(memberRows)}): the single-account report path's user sweep, one \`AssumeRole\`, the coverage check and the canary; the trail check (CloudTrail reads and the health finding) runs in the function's own account only. The coverage check adds ${total(run.coverageCalls)} calls per member and per sweep (${formatCounts(run.coverageCalls)}; measured as the difference between two more sweeps of one member, without and with \`ORGANIZATION_BUS_ARN\`), and the canary ${total(run.canaryCalls)} more (${formatCounts(run.canaryCalls)}; one more sweep, with \`CANARY_TABLE_NAME\` too). CPU per member account (the sweep process's own): ${formatMs(perAccount.cpuMs)}, ${formatSeconds(invocationMs(perAccount.cpuMs, memoryMb))} at the deployed ${memoryMb} MB. The planner lists the members through the management account's reader role (one \`AssumeRole\`), walking the StackSet's OU and the OU nested in it: ${total(run.planCounts, 'organizations.ListAccountsForParent')} \`ListAccountsForParent\` and ${total(run.planCounts, 'organizations.ListOrganizationalUnitsForParent')} \`ListOrganizationalUnitsForParent\` for ${run.organization.ousWalked} OUs (at least one of each per OU, one more per 20 accounts or child OUs), leaves out the ${run.organization.outsideIds.length} accounts of an OU outside it, and queues ${run.rows.length} accounts (itself, the management account and the ${run.members} members) in ${total(run.planCounts, 'sqs.')} \`SendMessageBatch\` (10 per call). Seeding moto: ${formatSeconds(run.seedMs)}.

**1,000 accounts on AWS (model).** The queue hands one account to each invocation, at most the mapping's maximum concurrency at once, so the sweep takes ⌈1,000 ÷ concurrency⌉ × one account's time. One account = credential report generation (IAM's own time, which moto does not show) + its ${perAccount.calls} calls at ${roundTripMs} ms each, counted one after another + its CPU at ${memoryMb} MB:

${model}

What bounds it: the member concurrency (\`memberSweepConcurrency\`, the queue mapping's maximum concurrency, default 10) and the central account's Lambda concurrency it draws on; the slowest credential reports; nothing shared between members otherwise (IAM and Security Hub limits are per account). One account must finish in the sweep's 15-minute timeout (the report's own wait is capped at 5 minutes); an account that fails is retried after the queue's 30-minute visibility timeout and dead-lettered after 3 receives. The planner lists 1,000 accounts spread over k OUs (the \`memberOus\` and every OU nested in them) in 50 to 50 + k \`ListAccountsForParent\` pages (⌈accounts ÷ 20⌉ per OU, at least one) and k \`ListOrganizationalUnitsForParent\` (one per 20 child OUs, at least one per OU), one OU after another (50 \`ListAccounts\` pages without \`memberOus\`), and queues them in 100 \`SendMessageBatch\` calls: seconds.`;
}

// Security Hub's throttling, per account and region: GetFindings 3 requests/s (burst 6), BatchImportFindings
// 10/s (burst 30). Enforced at the proxy; moto itself never throttles.
const SECURITY_HUB_RATES = [
  { operation: 'securityhub.GetFindings', perSecond: 3, burst: 6 },
  { operation: 'securityhub.BatchImportFindings', perSecond: 10, burst: 30 },
];
/** Added to every call at the proxy: a round trip to AWS, which moto on loopback does not have. */
const BURST_LATENCY_MS = 50;
/** The detector function's timeout (infra): an invocation still running then has failed. */
const DETECTOR_TIMEOUT_MS = 120_000;
/** Lambda's asynchronous retries: two, about a minute apart (the first after one minute). */
const ASYNC_MODEL: AsyncModel = { kind: 'async', retries: 2, retryDelayMs: 60_000 };
/** Target: at most this share of a 300-event burst lost, and every violation's finding within 5 minutes. */
const BURST_LOSS_TARGET = 0.01;
const BURST_DELAY_TARGET_MS = 5 * 60_000;

interface BurstRow {
  readonly events: number;
  readonly model: string;
  readonly outcomes: readonly EventOutcome[];
  readonly startedAt: number;
  readonly findingsWritten: number;
  readonly counts: Record<string, number>;
  readonly throttled: Record<string, number>;
  readonly wallMs: number;
}

/** Reads the FAILED findings of `userNames` straight from moto (not through the counting proxy). */
async function failedFindings(endpoint: string, userNames: readonly string[]): Promise<number> {
  const wanted = new Set(userNames.map((userName) => findingIdFor(ACCOUNT_ID, userName)));
  const hub = new SecurityHubClient(clientConfig(endpoint));
  let found = 0;
  let nextToken: string | undefined;
  do {
    const page = await hub.send(new GetFindingsCommand({ MaxResults: 100, NextToken: nextToken }));
    for (const finding of page.Findings ?? []) {
      if (wanted.has(finding.Id ?? '') && finding.Compliance?.Status === 'FAILED') found += 1;
    }
    nextToken = page.NextToken || undefined;
  } while (nextToken !== undefined);
  hub.destroy();
  return found;
}

/**
 * One burst on a moto server of its own: `size` CreateAccessKey events at once, alternately a user's first key
 * (compliant) and second key (a violation), each user created beforehand with that many keys.
 */
async function measureBurst(size: number, model: AsyncModel | QueueModel, bundle: string): Promise<BurstRow> {
  const moto = await startMoto();
  const proxy = await startAwsProxy(moto.endpoint, {
    rateLimits: SECURITY_HUB_RATES,
    latencyMs: BURST_LATENCY_MS,
    // Security Hub returns the one finding asked for by Id; moto would page through all of the burst's findings.
    filterFindingsById: true,
  });
  try {
    const iam = new IAMClient(clientConfig(moto.endpoint));
    const users = await seedUsers(
      iam,
      Array.from({ length: size }, (_, n) => ({ userName: `burst-${n}`, keys: n % 2 === 0 ? 1 : 2 })),
    );
    iam.destroy();
    const events: BurstEvent[] = users.map((user, n) => ({
      violation: n % 2 === 1,
      event: keyEventEnvelope(
        {
          ...created(user),
          userName: user.userName,
          accountId: ACCOUNT_ID,
          region: EMULATOR_REGION,
          // A rotation the users do themselves: no threat finding, so the burst measures CIS 1.13 alone.
          actorUserName: user.userName,
          eventTime: new Date(Date.UTC(2025, 0, 1, 0, 0, 0, n)),
          eventId: `00000000-0000-4000-8000-b${String(n).padStart(11, '0')}`,
        },
        `burst-${n}`,
      ),
    }));
    const environments = await startEnvironments(bundle, emulatorEnv(proxy.endpoint), {
      timeoutMs: DETECTOR_TIMEOUT_MS,
      context: lambdaContext('keywarden-detector'),
    });
    try {
      await environments.prepare(model.kind === 'async' ? events.length : model.maxConcurrency);
      proxy.reset();
      const startedAt = Date.now();
      const outcomes =
        model.kind === 'async'
          ? await runAsync(events, environments.invoke, model)
          : await runQueue(events, environments.invoke, model);
      const wallMs = Date.now() - startedAt;
      const violators = users.filter((_, n) => n % 2 === 1).map((user) => user.userName);
      return {
        events: size,
        model: model.kind,
        outcomes,
        startedAt,
        findingsWritten: await failedFindings(moto.endpoint, violators),
        counts: proxy.countsByOperation(),
        throttled: proxy.throttledByOperation(),
        wallMs,
      };
    } finally {
      await environments.stop();
    }
  } finally {
    await proxy.close();
    await moto.stop();
  }
}

async function bursts(options: Options, bundle: string): Promise<string> {
  const sizes = options.burstSizes ?? (options.quick ? [100] : [100, 300, 1_000]);
  // The queue's settings come from the construct that deploys it, loaded only for this section.
  const queueModel = async (): Promise<QueueModel> => {
    const { DETECTOR_QUEUE } = await import('../infra/detector-queue.ts');
    return {
      kind: 'queue',
      maxConcurrency: DETECTOR_QUEUE.maxConcurrency,
      batchSize: DETECTOR_QUEUE.batchSize,
      visibilityTimeoutMs: DETECTOR_QUEUE.visibilityTimeout.toMilliseconds(),
      maxReceiveCount: DETECTOR_QUEUE.maxReceiveCount,
      queueArn: `arn:aws:sqs:${EMULATOR_REGION}:${ACCOUNT_ID}:keywarden-detector`,
      region: EMULATOR_REGION,
    };
  };
  const rows: BurstRow[] = [];
  for (const kind of options.burstModels) {
    if (kind !== 'async' && kind !== 'queue') throw new Error(`--burst=${kind}: use queue or async`);
    for (const size of sizes) {
      progress(`burst: ${size} events, ${kind}`);
      const model = kind === 'async' ? ASYNC_MODEL : await queueModel();
      const row = await measureBurst(size, model, bundle);
      progress(`burst: ${size} events, ${kind}: done in ${formatSeconds(row.wallMs)}`);
      rows.push(row);
    }
  }
  const failedAt = (row: BurstRow, attempts: number) =>
    row.outcomes.filter((outcome) => outcome.failures.length >= attempts).length;
  const lost = (row: BurstRow) => row.outcomes.filter((outcome) => outcome.doneAt === undefined).length;
  const violationDelays = (row: BurstRow) =>
    row.outcomes
      .filter((outcome) => outcome.violation)
      .map((outcome) =>
        outcome.doneAt === undefined ? Number.POSITIVE_INFINITY : outcome.doneAt - row.startedAt,
      );
  const percent = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)} %`;
  const table = markdownTable(
    [
      'Burst',
      'Delivery',
      'Failed 1st attempt',
      'Failed 2nd',
      'Lost after retries',
      "Violations' findings written",
      'Last finding written after',
      'Throttled responses',
      'Security Hub calls',
    ],
    rows.map((row) => {
      const violations = row.outcomes.filter((outcome) => outcome.violation).length;
      const latest = Math.max(...violationDelays(row));
      return [
        `${row.events.toLocaleString('en-US')} events`,
        row.model === 'async' ? 'asynchronous invocation' : 'SQS queue',
        String(failedAt(row, 1)),
        String(failedAt(row, 2)),
        `${lost(row)} (${percent(lost(row), row.events)})`,
        `${row.findingsWritten} of ${violations}`,
        Number.isFinite(latest) ? formatSeconds(latest) : 'never (lost)',
        formatCounts(row.throttled),
        formatCounts(
          Object.fromEntries(
            Object.entries(row.counts).filter(([operation]) => operation.startsWith('securityhub.')),
          ),
        ),
      ];
    }),
  );
  const verdicts = rows
    .filter((row) => row.events === 300)
    .map((row) => {
      const violations = row.outcomes.filter((outcome) => outcome.violation).length;
      const met =
        lost(row) <= BURST_LOSS_TARGET * row.events &&
        row.findingsWritten === violations &&
        violationDelays(row).every((delay) => delay <= BURST_DELAY_TARGET_MS);
      return `${row.model === 'async' ? 'asynchronous invocation' : 'SQS queue'}: ${met ? 'met' : 'NOT met'}`;
    });
  const queue = rows.some((row) => row.model === 'queue') ? await queueModel() : undefined;
  const delivery = [
    queue === undefined
      ? undefined
      : `SQS queue: the event source mapping as deployed (at most ${queue.maxConcurrency} concurrent invocations of up to ${queue.batchSize} message${queue.batchSize === 1 ? '' : 's'}; a failed message is received again after its ${queue.visibilityTimeoutMs / 1000} s visibility timeout, and dead-lettered after ${queue.maxReceiveCount} receives)`,
    options.burstModels.includes('async')
      ? `asynchronous invocation: every event at once, each in its own environment; a failed invocation is replayed ${ASYNC_MODEL.retries} times, ${ASYNC_MODEL.retryDelayMs / 1000} s after it failed, then lost to the failure queue`
      : undefined,
  ].filter((text) => text !== undefined);
  return `${table}\n\n${verdicts.length > 0 ? `Target for 300 events: at most ${BURST_LOSS_TARGET * 100} % lost, every violation's finding written, none later than ${BURST_DELAY_TARGET_MS / 60_000} minutes: ${verdicts.join('; ')}. ` : ''}Half the events create a user's first key (compliant), half a second key (a violation). Security Hub's rates are enforced at the proxy (GetFindings ${SECURITY_HUB_RATES[0]?.perSecond}/s, burst ${SECURITY_HUB_RATES[0]?.burst}; BatchImportFindings ${SECURITY_HUB_RATES[1]?.perSecond}/s, burst ${SECURITY_HUB_RATES[1]?.burst}: a call over the rate is answered 429 ThrottlingException), every call forwarded to moto waits ${BURST_LATENCY_MS} ms, for the round trip to AWS, and a GetFindings by finding Id is answered with that finding only, as Security Hub filters (moto ignores filters). Each Lambda environment is its own instance of the built bundle (its own module state and SDK clients), all in one process, initialised before the burst (Lambda initialises each on its own CPU, outside the function's timeout); an invocation still running after ${DETECTOR_TIMEOUT_MS / 1000} s (the function's timeout) has failed, and its environment is replaced. Delivery: ${delivery.join('; ')}. "Last finding written after": from the start of the burst to the end of the last violation's successful invocation; findings are read back from moto.`;
}

function motoVersion(): string {
  const result = spawnSync('python3', ['-c', 'import moto; print(moto.__version__)'], { encoding: 'utf8' });
  return result.status === 0 ? `moto ${result.stdout.trim()}` : 'moto (version unknown)';
}

function machine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${motoVersion()}, ${process.platform}/${process.arch}`;
}

const PERFORMANCE_PAGE = join(ROOT, 'docs', 'performance.md');

/** Each section's heading in the run's own output; the page has its own headings outside the markers. */
const HEADINGS: Readonly<Record<BenchSection, string>> = {
  lambda: "Cold path on Lambda's CPU model",
  profile: 'Where the CPU goes',
  cold: 'Cold start (wall time)',
  events: 'Per event',
  sweep: 'Sweep scaling (1 % of users have two active keys)',
  org: 'Organization sweep (500 users per member account, 1 % violators)',
  burst: 'Bursts (Security Hub rate limits enforced)',
  report: 'Evidence report (keywarden report, 500 users per member account, 1 % violators)',
};

async function perEventSection(options: Options, detectorBundle: string): Promise<string> {
  const { table, rows } = await perEvent(options, detectorBundle);
  const compliant = rows.filter(
    (row) => row.scenario.expect === 'evaluated/compliant/none' && row.scenario.threat === undefined,
  );
  const plain = compliant.filter((row) => row.scenario.env.EVENT_BUS_NAME === undefined);
  const withBus = compliant.filter((row) => row.scenario.env.EVENT_BUS_NAME !== undefined);
  const most = Math.max(...plain.map((row) => row.callsPerEvent));
  const verdict = `Target: compliant event ≤ 3 AWS calls: ${most <= 3 ? 'met' : 'NOT met'} (${plain.map((row) => row.callsPerEvent).join(' and ')}${withBus.length > 0 ? `; ${withBus.map((row) => row.callsPerEvent).join(', ')} with a notification bus` : ''}). `;
  return `${table}\n\n${verdict}Each row: one detector process (the built bundle, as on Lambda) handles ${rows[0]?.iterations ?? 0} events for fresh users, one at a time, against moto through a counting proxy; calls are counted at the proxy. The first event of each process (it opens the connections) is timed apart and not counted. Max RSS: the process's peak. A violation's usage evidence is the \`cloudtrail.LookupEvents\` calls (one per active key and Region), answered by the proxy from ${APPLICATION_CALLS} records of an application's calls signed with the older key; without the evidence a violation costs the same calls less those.`;
}

async function main(): Promise<void> {
  const options = valuesOrExit(benchArgs(process.argv.slice(2)), 'npm run bench', BENCH_USAGE);
  const started = Date.now();
  const host = machine();
  const sections: string[] = [
    `Machine: ${host}. Command: \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\`.`,
  ];
  const detectorBundle = options.detector ?? join(ROOT, 'dist', 'detector', 'index.mjs');
  await build({});
  const needsTemplate = ['lambda', 'profile', 'sweep', 'org'].some((section) =>
    options.sections.has(section),
  );
  const deployed = needsTemplate ? await synthesizedFunctions('123456789012') : undefined;
  const sweepBundle = join(ROOT, 'dist', 'sweep', 'index.mjs');
  const measure: Readonly<Record<BenchSection, () => Promise<string>>> = {
    lambda: async () => (await lambdaColdPath(options, detectorBundle, required(deployed).detector)).markdown,
    profile: () => cpuProfiles(options, detectorBundle, required(deployed).detector),
    cold: () => coldStart(options),
    events: () => perEventSection(options, detectorBundle),
    sweep: () => sweepScaling(options, sweepBundle, required(deployed).sweep),
    org: () => organizationSweep(options, sweepBundle, required(deployed).sweep),
    burst: () => bursts(options, detectorBundle),
    report: () => reportBench(options),
  };
  for (const section of BENCH_SECTIONS) {
    if (!options.sections.has(section)) continue;
    const sectionStarted = Date.now();
    const markdown = await measure[section]();
    sections.push(`### ${HEADINGS[section]}\n\n${markdown}`);
    if (options.writeDocs) {
      // Each section says how and where it was measured, since sections are rerun one at a time.
      const provenance = `Measured by \`npm run bench -- --only=${section}${options.quick ? ' --quick' : ''}\` in ${((Date.now() - sectionStarted) / 1000).toFixed(0)} s on ${new Date().toISOString().slice(0, 10)}; ${host}.`;
      await writeBenchSection(PERFORMANCE_PAGE, section, `${markdown}\n\n${provenance}`);
      progress(`${section}: written to ${relative(ROOT, PERFORMANCE_PAGE)}`);
    }
  }
  sections.push(
    `Measured in ${((Date.now() - started) / 1000).toFixed(0)} s on ${new Date().toISOString().slice(0, 10)}.`,
  );
  const markdown = `${sections.join('\n\n')}\n`;
  await mkdir(BENCH_DIR, { recursive: true });
  await writeFile(join(BENCH_DIR, 'results.md'), markdown);
  process.stdout.write(markdown);
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the synthesized template was not read');
  return value;
}

await main();
