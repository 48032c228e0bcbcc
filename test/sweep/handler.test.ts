import { CreateAccessKeyCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { findingIdFor } from '../../functions/core/finding.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { InvalidEventError } from '../../functions/shared/errors.ts';
import { createLogger, type Logger } from '../../functions/shared/logger.ts';
import { SweepError } from '../../functions/sweep/engine.ts';
import { createSweepHandler, sourceFromEvent } from '../../functions/sweep/handler.ts';
import {
  ACCOUNT_ID,
  CONTEXT,
  type IsolatedAws,
  iamCalls,
  REGION,
  startIsolatedAws,
  type UserSpec,
} from './moto-fixture.ts';

const idOf = (userName: string): string => findingIdFor(ACCOUNT_ID, userName);
const noWait = async (): Promise<void> => undefined;

/** A logger that keeps what it was given, to check the one summary line. */
function recordingLogger(): { logger: Logger; lines: { level: string; message: string; extra: unknown }[] } {
  const lines: { level: string; message: string; extra: unknown }[] = [];
  const logger = createLogger('keywarden-sweep-test');
  logger.setLogLevel('SILENT');
  for (const level of ['info', 'warn', 'error'] as const) {
    const original = logger[level].bind(logger);
    logger[level] = ((message: string, extra: unknown) => {
      lines.push({ level, message, extra });
      original(message, extra as never);
    }) as never;
  }
  return { logger, lines };
}

describe('sourceFromEvent', () => {
  it.each([
    {
      case: 'a scheduled event',
      event: { source: 'aws.events', 'detail-type': 'Scheduled Event' },
      source: 'credential-report',
    },
    { case: 'no event', event: undefined, source: 'credential-report' },
    { case: 'sweepSource full', event: { sweepSource: 'full' }, source: 'full' },
    {
      case: 'sweepSource credential-report',
      event: { sweepSource: 'credential-report' },
      source: 'credential-report',
    },
  ])('uses $source for $case', ({ event, source }) => {
    expect(sourceFromEvent(event, 'credential-report')).toBe(source);
  });

  it('throws InvalidEventError naming the bad sweepSource', () => {
    expect(() => sourceFromEvent({ sweepSource: 'everything' }, 'full')).toThrow(InvalidEventError);
    expect(() => sourceFromEvent({ sweepSource: 'everything' }, 'full')).toThrow(
      /"everything".*credential-report, full/,
    );
  });
});

describe('sweep handler against moto', () => {
  let aws: IsolatedAws;

  beforeAll(async () => {
    aws = await startIsolatedAws();
  });
  afterAll(async () => {
    await aws?.stop();
  });
  const handlerWith = (
    env: Record<string, string>,
    extra: { clock?: () => Date; logger?: Logger; maxAttempts?: number } = {},
  ) =>
    createSweepHandler({
      config: loadConfig(env),
      clients: aws.clients({ maxAttempts: extra.maxAttempts ?? 2 }),
      cloudTrail: aws.cloudTrail({ maxAttempts: extra.maxAttempts ?? 2 }),
      logger: extra.logger ?? recordingLogger().logger,
      sleep: noWait,
      ...(extra.clock ? { clock: extra.clock } : {}),
    });

  /** 300 users in mixed states. */
  function mixedPopulation(): { specs: UserSpec[]; violators: string[]; exempt: string[] } {
    const specs: UserSpec[] = [];
    const violators: string[] = [];
    const exempt: string[] = [];
    for (let i = 0; i < 300; i++) {
      const userName = `mix-${i}`;
      const path = ['/', '/eng/', '/a/b/c/'][i % 3] as string;
      if (i % 25 === 0) {
        specs.push({ userName, path, activeKeys: 2 });
        violators.push(userName);
      } else if (i % 25 === 1) {
        specs.push({ userName, path, activeKeys: 2, tags: { 'keywarden:exempt': 'true' } });
        exempt.push(userName);
      } else if (i % 25 === 2) {
        specs.push({ userName, path, activeKeys: 1, tags: { 'keywarden:exempt': 'true' } });
      } else if (i % 5 === 0) {
        specs.push({ userName, path, activeKeys: 1, inactiveKeys: 1 });
      } else if (i % 5 === 1) {
        specs.push({ userName, path, inactiveKeys: 2 });
      } else {
        specs.push({ userName, path, activeKeys: i % 2 });
      }
    }
    return { specs, violators, exempt };
  }

  describe('with 300 users in mixed states', () => {
    const { specs, violators, exempt } = mixedPopulation();

    beforeAll(async () => {
      await aws.reset();
      await aws.seed(specs);
    });

    it.each([
      { source: 'credential-report' as const, listsEveryUser: false },
      { source: 'full' as const, listsEveryUser: true },
    ])(
      'finds the same violators among 300 users in mixed states from the $source',
      async ({ source, listsEveryUser }) => {
        // Prepare: the second source also meets the findings the first one wrote; the result must not change.
        aws.proxy.reset();
        const { logger, lines } = recordingLogger();

        // Act
        const summary = await handlerWith({ SWEEP_SOURCE: source }, { logger })({}, CONTEXT);

        // Assess
        const findings = await aws.findings();
        const failed = [...findings.values()]
          .filter((f) => f.Compliance?.Status === 'FAILED')
          .map((f) => f.Id);
        const warning = [...findings.values()]
          .filter((f) => f.Compliance?.Status === 'WARNING')
          .map((f) => f.Id);
        expect(failed.sort()).toEqual(violators.map(idOf).sort());
        expect(warning.sort()).toEqual(exempt.map(idOf).sort());
        expect(summary).toMatchObject({
          source,
          usersScanned: 300,
          violating: 12,
          exempt: 12,
          compliant: 276,
        });
        const calls = iamCalls(aws.proxy);
        expect(calls.ListUsers === 1).toBe(listsEveryUser);
        expect(calls.ListAccessKeys).toBe(listsEveryUser ? 300 + 24 : 24);
        expect(lines.filter((line) => line.message === 'swept')).toHaveLength(1);
      },
    );
  });

  describe('in an empty account', () => {
    beforeEach(async () => {
      await aws.reset();
    });

    it('deactivates the surplus key of a violator, never an exempt user, when REMEDIATION_MODE=deactivate', async () => {
      // Prepare
      const keys = await aws.seed([
        { userName: 'rem-violator', activeKeys: 2 },
        { userName: 'rem-exempt', activeKeys: 2, tags: { 'keywarden:exempt': 'true' } },
      ]);

      // Act
      const summary = await handlerWith({ REMEDIATION_MODE: 'deactivate' })({}, CONTEXT);

      // Assess
      const findings = await aws.findings();
      const fields = findings.get(idOf('rem-violator'))?.ProductFields ?? {};
      const violatorKeys = keys.get('rem-violator') ?? [];
      expect(fields['keywarden/detector/deactivatedKeys']).toBeDefined();
      expect(violatorKeys).toContain(fields['keywarden/detector/deactivatedKeys']);
      expect(findings.get(idOf('rem-violator'))?.Compliance?.Status).toBe('PASSED');
      expect(findings.get(idOf('rem-exempt'))?.Compliance?.Status).toBe('WARNING');
      expect(summary).toMatchObject({ violating: 1, deactivated: 1, exempt: 1 });
      expect(aws.proxy.count('UpdateAccessKey')).toBe(1);
    });

    it('keeps the credential report when a user name holds a comma, and checks that user live', async () => {
      // Prepare: IAM allows "," in user names; the report row of such a user splits into more fields than the
      // header has (moto, like IAM, writes the names unquoted).
      await aws.seed([
        { userName: 'ops,batch', activeKeys: 2 },
        { userName: 'svc,one', activeKeys: 1 },
        { userName: 'plain-violator', activeKeys: 2 },
        ...Array.from({ length: 10 }, (_, i) => ({ userName: `plain-${i}`, activeKeys: 1 })),
      ]);
      aws.proxy.reset();

      // Act
      const summary = await handlerWith({ SWEEP_SOURCE: 'credential-report' })({}, CONTEXT);

      // Assess: no fallback to the full listing; the two violators found, the unreadable rows read live.
      expect(summary).toMatchObject({ source: 'credential-report', violating: 2 });
      expect(summary).not.toHaveProperty('fallbackReason', expect.anything());
      const findings = await aws.findings();
      expect(findings.get(idOf('ops,batch'))?.Compliance?.Status).toBe('FAILED');
      expect(findings.get(idOf('plain-violator'))?.Compliance?.Status).toBe('FAILED');
      const calls = iamCalls(aws.proxy);
      expect(calls.ListUsers).toBeUndefined();
      // The two users of unreadable rows (one of them a violator) and the other violator; no other user.
      expect(calls.ListAccessKeys).toBe(3);
      expect(summary).toMatchObject({ candidates: 3, usersScanned: 13 });
    });

    it('only reports a violation inside ROTATION_GRACE_HOURS and deactivates it on the first sweep after', async () => {
      // Prepare: both keys are minutes old; the grace is one hour.
      await aws.seed([{ userName: 'grace-user', activeKeys: 2 }]);
      const env = { REMEDIATION_MODE: 'deactivate', ROTATION_GRACE_HOURS: '1' };
      let offsetMs = 0;
      let tick = 0;
      const clock = () => new Date(Date.now() + offsetMs + tick++);

      // Act
      const during = await handlerWith(env, { clock })({}, CONTEXT);
      const fieldsDuring = (await aws.findings()).get(idOf('grace-user'))?.ProductFields ?? {};
      offsetMs = 2 * 3_600_000;
      const after = await handlerWith(env, { clock })({}, CONTEXT);

      // Assess
      expect(during).toMatchObject({ violating: 1, postponed: 1, deactivated: 0 });
      expect(fieldsDuring['keywarden/detector/action']).toBe('postponed');
      expect(after).toMatchObject({ violating: 1, postponed: 0, deactivated: 1 });
      expect((await aws.findings()).get(idOf('grace-user'))?.Compliance?.Status).toBe('PASSED');
    });

    it('fills the finding’s last-used data from the credential report, without GetAccessKeyLastUsed', async () => {
      // Prepare: keys created in different seconds (the report's precision), one used since.
      await aws.iam.send(new CreateUserCommand({ UserName: 'used-keys' }));
      const first = await aws.iam.send(new CreateAccessKeyCommand({ UserName: 'used-keys' }));
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await aws.iam.send(new CreateAccessKeyCommand({ UserName: 'used-keys' }));
      const signer = new STSClient({
        endpoint: aws.moto.endpoint,
        region: REGION,
        credentials: {
          accessKeyId: first.AccessKey?.AccessKeyId as string,
          secretAccessKey: first.AccessKey?.SecretAccessKey as string,
        },
      });
      await signer.send(new GetCallerIdentityCommand({}));
      aws.proxy.reset();

      // Act
      await handlerWith({})({}, CONTEXT);

      // Assess
      const fields = (await aws.findings()).get(idOf('used-keys'))?.ProductFields ?? {};
      expect(fields['keywarden/detector/key1/accessKeyId']).toBe(first.AccessKey?.AccessKeyId);
      expect(fields['keywarden/detector/key1/lastUsedDate']).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      expect(fields['keywarden/detector/key2/lastUsedDate']).toBe('never');
      expect(iamCalls(aws.proxy).GetAccessKeyLastUsed).toBeUndefined();
    });

    it('archives the resolved finding of a user deleted after the violation was fixed', async () => {
      // Prepare: FAILED by a first sweep, PASSED by the next once fixed, then the user is deleted.
      await aws.seed([{ userName: 'fixed-then-deleted', activeKeys: 2 }]);
      const sweep = handlerWith({});
      await sweep({}, CONTEXT);
      await aws.deactivateOneKey('fixed-then-deleted');
      await sweep({}, CONTEXT);
      const stateOf = async () => {
        const finding = (await aws.findings()).get(idOf('fixed-then-deleted'));
        return `${finding?.Compliance?.Status}/${finding?.RecordState}`;
      };
      expect(await stateOf()).toBe('PASSED/ACTIVE');
      await aws.deleteUser('fixed-then-deleted');
      aws.proxy.reset();

      // Act
      const summary = await sweep({}, CONTEXT);

      // Assess
      expect(await stateOf()).toBe('PASSED/ARCHIVED');
      expect(summary).toMatchObject({ archived: 1, usersScanned: 0 });
    });

    it('throws a SweepError after importing what it could when Security Hub keeps failing', async () => {
      // Prepare
      await aws.seed([{ userName: 'import-fails', activeKeys: 2 }]);
      aws.proxy.inject({ operation: 'BatchImportFindings', status: 500 });
      const { logger, lines } = recordingLogger();

      // Act
      const failure = handlerWith({}, { logger, maxAttempts: 1 })({}, CONTEXT);

      // Assess
      await expect(failure).rejects.toBeInstanceOf(SweepError);
      // The health finding's import fails as well, after the users were checked all the same.
      await expect(failure).rejects.toMatchObject({
        name: 'SweepError',
        failures: [{ stage: 'import' }, { stage: 'trail-health' }],
      });
      expect(lines.some((line) => line.level === 'error' && line.message === 'sweep step failed')).toBe(true);
    });

    it('rethrows when the credential report cannot be generated, so Lambda retries', async () => {
      // Prepare
      aws.proxy.inject({ operation: 'iam.GenerateCredentialReport', status: 403, code: 'AccessDenied' });

      // Act
      const failure = handlerWith({}, { maxAttempts: 1 })({}, CONTEXT);

      // Assess
      await expect(failure).rejects.toMatchObject({
        name: 'AwsCallError',
        operation: 'GenerateCredentialReport',
      });
    });

    it('exports a handler that reads its configuration and clients from the environment', async () => {
      // Prepare: the module builds its clients when it loads, so the endpoint is set first.
      await aws.seed([{ userName: 'env-violator', activeKeys: 2 }]);
      const saved = { ...process.env };
      Object.assign(process.env, {
        AWS_ENDPOINT_URL: aws.proxy.endpoint,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: REGION,
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        SWEEP_SOURCE: 'full',
      });
      try {
        // A fresh copy of the module: the one imported above was initialised with the test's environment.
        vi.resetModules();
        const module = await import('../../functions/sweep/handler.ts');

        const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);

        let written: string[] = [];

        // Act
        const summary = await module.handler({}, CONTEXT).finally(() => {
          written = stdout.mock.calls.map(([chunk]) => String(chunk));
          stdout.mockRestore();
        });

        // Assess
        expect(summary).toMatchObject({ source: 'full', usersScanned: 1, violating: 1 });
        // Its metrics, in embedded metric format on stdout.
        const metrics = written
          .filter((line) => line.includes('"CloudWatchMetrics"'))
          .map((line) => JSON.parse(line));
        expect(metrics).toEqual([
          expect.objectContaining({ service: 'keywarden-sweep', Violations: 1, FindingsImported: 1 }),
        ]);
      } finally {
        for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
        Object.assign(process.env, saved);
      }
    });
  });
});
