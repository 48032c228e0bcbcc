/**
 * The detector's cold path as Lambda runs it: CPU time of init, of the first event and of later events, each
 * read with process.cpuUsage() inside fresh handler processes (scripts/lib/handler-worker.mjs), against moto
 * through a counting proxy. Turned into Lambda wall time by scripts/lib/lambda-model.ts.
 */

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IAMClient } from '@aws-sdk/client-iam';
import { startAwsProxy } from '../../test/support/aws-proxy.ts';
import { startMoto } from '../../test/support/moto.ts';
import { keyEventEnvelope } from './cloudtrail.ts';
import { type CpuProfile, type SelfTime, selfTimes } from './cpu-profile.ts';
import { clientConfig, EMULATOR_REGION, emulatorEnv } from './emulator.ts';
import { applicationUse, seedUsers } from './seed.ts';
import { median, total } from './stats.ts';
import { startHandlerWorker } from './worker-client.ts';

export const BENCH_ACCOUNT_ID = '123456789012';
const OTHER_ACCOUNT_ID = '210987654321';
const MEMBER_ACCOUNT_ID = '111122223333';

export interface ColdPathScenario {
  readonly label: string;
  readonly env: Readonly<Record<string, string>>;
  /** The event comes from another account: a skip, which must make no AWS call. */
  readonly foreign?: boolean;
  /** The user is in this member account, reached through the member role (organization mode). */
  readonly memberAccountId?: string;
  /** What the handler must return for every event, or the benchmark measures something else. */
  readonly expect: string;
}

export const COLD_PATH_SCENARIOS: readonly ColdPathScenario[] = [
  { label: 'violation, detect only', env: {}, expect: 'evaluated/violation/none' },
  {
    label: 'violation, deactivate',
    env: { REMEDIATION_MODE: 'deactivate' },
    expect: 'evaluated/violation/deactivated',
  },
  {
    label: 'violation in a member account (organization mode), detect only',
    env: { MEMBER_ROLE_NAME: 'KeyWardenMember' },
    memberAccountId: MEMBER_ACCOUNT_ID,
    expect: 'evaluated/violation/none',
  },
  { label: 'skipped: event of another account', env: {}, foreign: true, expect: 'skipped/other-account' },
];

/** Makes moto act in `accountId` for this client's requests (moto's x-moto-account-id header). */
function actIn(iam: IAMClient, accountId: string): void {
  iam.middlewareStack.add(
    (next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-moto-account-id'] = accountId;
      return next(args);
    },
    { step: 'build', name: 'benchMotoAccount' },
  );
}

export interface ColdPathSample {
  readonly initCpuMs: number;
  readonly initWallMs: number;
  readonly firstEventCpuMs: number;
  /** Median over the process's warm events. */
  readonly warmEventCpuMs: number;
  readonly maxRssBytes: number;
}

export interface ColdPathResult {
  readonly scenario: ColdPathScenario;
  readonly samples: readonly ColdPathSample[];
  /** Medians over the processes. */
  readonly initCpuMs: number;
  readonly initWallMs: number;
  readonly firstEventCpuMs: number;
  readonly warmEventCpuMs: number;
  readonly maxRssBytes: number;
  /** AWS calls of the first events and of the warm events, per event. */
  readonly firstEventCalls: number;
  readonly warmEventCalls: number;
  readonly warmCounts: Record<string, number>;
  readonly warmEvents: number;
}

export interface ColdPathOptions {
  readonly bundle: string;
  /** NODE_OPTIONS as the template sets them. */
  readonly nodeOptions: string;
  readonly processes: number;
  readonly warmEvents: number;
  /** Where the workers write CPU profiles of each phase (init, first event, warm events). */
  readonly profileDir?: string;
}

function outcomeOf(result: unknown): string {
  const r = result as { status?: string; verdict?: string; action?: string; reason?: string };
  return r.status === 'skipped' ? `skipped/${r.reason}` : `${r.status}/${r.verdict}/${r.action}`;
}

const lambdaContext = {
  invokedFunctionArn: `arn:aws:lambda:${EMULATOR_REGION}:${BENCH_ACCOUNT_ID}:function:keywarden-detector`,
  awsRequestId: 'bench',
};

/** One scenario: `processes` fresh handler processes, each given a first event and then `warmEvents` more. */
export async function measureColdPath(
  scenario: ColdPathScenario,
  index: number,
  options: ColdPathOptions,
): Promise<ColdPathResult> {
  const perProcess = options.warmEvents + 1;
  const moto = await startMoto();
  const proxy = await startAwsProxy(moto.endpoint);
  try {
    const iam = new IAMClient(clientConfig(moto.endpoint));
    if (scenario.memberAccountId !== undefined) actIn(iam, scenario.memberAccountId);
    // A violating user each: two active keys. Violations read no finding, so findings that moto keeps from
    // earlier events (it ignores GetFindings filters) do not change what a later event costs.
    const users = await seedUsers(
      iam,
      Array.from({ length: options.processes * perProcess }, (_, n) => ({
        userName: `bench-cold${index}-${n}`,
        keys: scenario.foreign ? 1 : 2,
      })),
    );
    iam.destroy();
    // A violation reads its keys' usage evidence: one page of an application's calls for the older key.
    proxy.serveLookupEvents(applicationUse(users, scenario.memberAccountId ?? BENCH_ACCOUNT_ID));
    const events = users.map((user, n) => ({
      ...keyEventEnvelope(
        {
          eventName: 'CreateAccessKey',
          accessKeyId: user.accessKeyIds.at(-1) ?? '',
          userName: user.userName,
          accountId: scenario.foreign ? OTHER_ACCOUNT_ID : (scenario.memberAccountId ?? BENCH_ACCOUNT_ID),
          region: EMULATOR_REGION,
          actorUserName: user.userName,
          eventTime: new Date(Date.UTC(2025, 0, 1, 0, 0, n)),
          eventId: `00000000-0000-4000-8001-${String(index).padStart(4, '0')}${String(n).padStart(8, '0')}`,
        },
        `bench-cold-${index}-${n}`,
      ),
      ...(scenario.foreign ? { account: OTHER_ACCOUNT_ID } : {}),
    }));
    const samples: ColdPathSample[] = [];
    let firstCalls = 0;
    const warmCounts: Record<string, number> = {};
    for (let process = 0; process < options.processes; process++) {
      const mine = events.slice(process * perProcess, (process + 1) * perProcess);
      const worker = await startHandlerWorker(options.bundle, {
        ...emulatorEnv(proxy.endpoint),
        NODE_OPTIONS: options.nodeOptions,
        ...scenario.env,
        ...(options.profileDir ? { KEYWARDEN_BENCH_PROFILE_DIR: options.profileDir } : {}),
      });
      try {
        proxy.reset();
        const first = await worker.run(mine.slice(0, 1), lambdaContext);
        firstCalls += proxy.calls.length;
        proxy.reset();
        const warm = await worker.run(mine.slice(1), lambdaContext);
        for (const [operation, count] of Object.entries(proxy.countsByOperation()))
          warmCounts[operation] = (warmCounts[operation] ?? 0) + count;
        for (const result of [...first.results, ...warm.results]) {
          if (outcomeOf(result) !== scenario.expect) {
            throw new Error(
              `${scenario.label}: the handler returned ${outcomeOf(result)}, expected ${scenario.expect}`,
            );
          }
        }
        samples.push({
          initCpuMs: worker.importCpuMs,
          initWallMs: worker.importMs,
          firstEventCpuMs: first.cpuMs[0] ?? Number.NaN,
          warmEventCpuMs: median(warm.cpuMs),
          maxRssBytes: warm.maxRssBytes,
        });
      } finally {
        await worker.stop();
      }
    }
    const medianOf = (pick: (sample: ColdPathSample) => number) => median(samples.map(pick));
    const warmEvents = options.processes * options.warmEvents;
    return {
      scenario,
      samples,
      initCpuMs: medianOf((s) => s.initCpuMs),
      initWallMs: medianOf((s) => s.initWallMs),
      firstEventCpuMs: medianOf((s) => s.firstEventCpuMs),
      warmEventCpuMs: medianOf((s) => s.warmEventCpuMs),
      maxRssBytes: Math.max(...samples.map((s) => s.maxRssBytes)),
      firstEventCalls: firstCalls / options.processes,
      warmEventCalls: total(warmCounts) / warmEvents,
      warmCounts: Object.fromEntries(
        Object.entries(warmCounts).map(([op, count]) => [op, count / warmEvents]),
      ),
      warmEvents,
    };
  } finally {
    await proxy.close();
    await moto.stop();
  }
}

export interface PhaseProfiles {
  readonly init: SelfTime[];
  readonly firstEvent: SelfTime[];
  readonly warmEvents: SelfTime[];
  readonly warmEventCount: number;
}

/** Runs one process of `scenario` with V8's CPU profiler on, and returns the self times of each phase. */
export async function profileColdPath(
  scenario: ColdPathScenario,
  index: number,
  options: Omit<ColdPathOptions, 'processes' | 'profileDir'>,
): Promise<PhaseProfiles> {
  const directory = await mkdtemp(join(tmpdir(), 'keywarden-cpu-prof-'));
  try {
    await measureColdPath(scenario, index, { ...options, processes: 1, profileDir: directory });
    const read = async (name: string): Promise<SelfTime[]> =>
      selfTimes(JSON.parse(await readFile(join(directory, `${name}.cpuprofile`), 'utf8')) as CpuProfile);
    return {
      init: await read('init'),
      firstEvent: await read('run-1'),
      warmEvents: await read('run-2'),
      warmEventCount: options.warmEvents,
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
