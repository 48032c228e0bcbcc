import {
  BatchImportFindingsCommand,
  GetFindingsCommand,
  InternalException,
  InvalidInputException,
  SecurityHubClient,
  ThrottlingException,
} from '@aws-sdk/client-securityhub';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createFindingsPort,
  DEFAULT_THROTTLING_BUDGET_MS,
  THROTTLING_MARGIN_MS,
} from '../../functions/adapters/securityhub.ts';
import { evaluateUser } from '../../functions/core/evaluate.ts';
import { buildFinding, type Finding, productArnFor } from '../../functions/core/finding.ts';
import { AsffValidationError, AwsCallError, FindingImportError } from '../../functions/shared/errors.ts';
import { ACCOUNT, EVENT_TRIGGER, NEW_KEY, NOW, OLD_KEY, POLICY, snapshot } from '../core/builders.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';

const hubMock = mockClient(SecurityHubClient);
const client = new SecurityHubClient({ region: 'us-east-1' });
const PRODUCT_ARN = productArnFor(ACCOUNT);

function findingFor(userName: string): Finding {
  const evaluation = evaluateUser(userName, snapshot([OLD_KEY, NEW_KEY], { userName }), POLICY, NOW);
  if (evaluation.verdict === 'user-gone') throw new Error('unexpected');
  return buildFinding({
    account: ACCOUNT,
    evaluation,
    action: { kind: 'none' },
    trigger: EVENT_TRIGGER,
    updatedAt: new Date('2026-06-01T12:00:01.000Z'),
  });
}

const findings = (count: number): Finding[] =>
  Array.from({ length: count }, (_, i) => findingFor(`user${i}`));

function port(sleeps: number[] = []) {
  return createFindingsPort(client, {
    accountId: ACCOUNT.accountId,
    partition: 'aws',
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
}

const importedIds = (): string[][] =>
  hubMock
    .commandCalls(BatchImportFindingsCommand)
    .map((c) => (c.args[0].input.Findings ?? []).map((f) => f.Id ?? ''));

beforeEach(() => {
  hubMock.reset();
});

afterAll(() => {
  hubMock.restore();
});

describe('createFindingsPort', () => {
  describe('importFindings', () => {
    it('sends one valid finding as is', async () => {
      hubMock
        .on(BatchImportFindingsCommand)
        .resolves({ FailedCount: 0, SuccessCount: 1, FailedFindings: [] });
      const [finding] = findings(1);
      expectValidAsff(finding);

      await port().importFindings([finding as Finding]);

      expect(hubMock.commandCalls(BatchImportFindingsCommand).map((c) => c.args[0].input)).toEqual([
        { Findings: [finding] },
      ]);
    });

    it('sends at most 100 findings per call', async () => {
      hubMock
        .on(BatchImportFindingsCommand)
        .resolves({ FailedCount: 0, SuccessCount: 100, FailedFindings: [] });
      const all = findings(250);

      await port().importFindings(all);

      expect(importedIds().map((batch) => batch.length)).toEqual([100, 100, 50]);
      expect(importedIds().flat()).toEqual(all.map((f) => f.Id));
    });

    it('sends nothing for no finding', async () => {
      await port().importFindings([]);

      expect(hubMock.calls()).toHaveLength(0);
    });

    it('validates before sending: an invalid finding sends nothing and names the problem', async () => {
      const invalid = { ...findings(1)[0], Title: '' } as Finding;

      await expect(port().importFindings([invalid])).rejects.toThrow(AsffValidationError);
      await expect(port().importFindings([invalid])).rejects.toThrow('Title must not be empty');
      expect(hubMock.calls()).toHaveLength(0);
    });

    it('rejects a finding built for another partition', async () => {
      const cn = {
        ...findings(1)[0],
        ProductArn: 'arn:aws-cn:securityhub:cn-north-1:123456789012:product/123456789012/default',
      } as Finding;

      await expect(port().importFindings([cn])).rejects.toThrow('ProductArn must be in partition aws');
      expect(hubMock.calls()).toHaveLength(0);
    });

    it('retries only the findings that failed, then succeeds', async () => {
      const [a, b, c] = findings(3) as [Finding, Finding, Finding];
      hubMock
        .on(BatchImportFindingsCommand)
        .resolvesOnce({
          FailedCount: 1,
          SuccessCount: 2,
          FailedFindings: [{ Id: b.Id, ErrorCode: 'InternalException', ErrorMessage: 'try again' }],
        })
        .resolvesOnce({ FailedCount: 0, SuccessCount: 1, FailedFindings: [] });
      const sleeps: number[] = [];

      await port(sleeps).importFindings([a, b, c]);

      expect(importedIds()).toEqual([[a.Id, b.Id, c.Id], [b.Id]]);
      expect(sleeps).toHaveLength(1);
    });

    it('throws FindingImportError naming the Ids and codes that kept failing', async () => {
      const [a, b, c] = findings(3) as [Finding, Finding, Finding];
      hubMock.on(BatchImportFindingsCommand).resolves({
        FailedCount: 2,
        SuccessCount: 1,
        FailedFindings: [
          { Id: a.Id, ErrorCode: 'InvalidInput', ErrorMessage: 'bad resource' },
          { Id: c.Id, ErrorCode: 'LimitExceeded', ErrorMessage: 'too many' },
        ],
      });
      const sleeps: number[] = [];

      const error = await port(sleeps)
        .importFindings([a, b, c])
        .then(
          () => undefined,
          (e: unknown) => e,
        );

      expect(error).toBeInstanceOf(FindingImportError);
      expect((error as FindingImportError).failed).toEqual([
        { id: a.Id, code: 'InvalidInput', message: 'bad resource' },
        { id: c.Id, code: 'LimitExceeded', message: 'too many' },
      ]);
      expect((error as Error).message).toContain(`${a.Id} (InvalidInput: bad resource)`);
      expect((error as Error).message).toContain(`${c.Id} (LimitExceeded: too many)`);
      // Three attempts: the whole batch, then only the two failed ones, twice.
      expect(importedIds()).toEqual([
        [a.Id, b.Id, c.Id],
        [a.Id, c.Id],
        [a.Id, c.Id],
      ]);
      expect(sleeps).toHaveLength(2);
    });

    it('throws at once when the failure names no finding it sent', async () => {
      hubMock.on(BatchImportFindingsCommand).resolves({
        FailedCount: 1,
        SuccessCount: 0,
        FailedFindings: [{ ErrorCode: 'InternalException' } as never],
      });

      await expect(port().importFindings(findings(1))).rejects.toThrow(FindingImportError);
      expect(hubMock.commandCalls(BatchImportFindingsCommand)).toHaveLength(1);
    });

    it('does not send the next batch after one fails', async () => {
      hubMock
        .on(BatchImportFindingsCommand)
        .rejects(new InternalException({ message: 'down', $metadata: {} }));

      await expect(port().importFindings(findings(150))).rejects.toThrow(AwsCallError);
      expect(hubMock.commandCalls(BatchImportFindingsCommand)).toHaveLength(1);
    });

    it('wraps throttling that outlived its retries in AwsCallError with the code', async () => {
      hubMock
        .on(BatchImportFindingsCommand)
        .rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }));

      const error = await port()
        .importFindings(findings(1))
        .then(
          () => undefined,
          (e: unknown) => e,
        );

      expect(error).toBeInstanceOf(AwsCallError);
      expect((error as AwsCallError).code).toBe('ThrottlingException');
      expect((error as AwsCallError).cause).toBeInstanceOf(ThrottlingException);
    });
  });

  describe('getFinding', () => {
    const mine = findingFor('bob');
    const others = findings(3);

    it('filters by Id and ProductArn on the server and again on the client', async () => {
      // An emulator ignores the filters and returns everything.
      hubMock.on(GetFindingsCommand).resolves({ Findings: [...others, mine] });

      const found = await port().getFinding(PRODUCT_ARN, mine.Id as string);

      expect(found).toEqual(mine);
      expect(hubMock.commandCalls(GetFindingsCommand)[0]?.args[0].input).toEqual({
        Filters: {
          Id: [{ Value: mine.Id, Comparison: 'EQUALS' }],
          ProductArn: [{ Value: PRODUCT_ARN, Comparison: 'EQUALS' }],
        },
        MaxResults: 100,
        NextToken: undefined,
      });
    });

    it('ignores a finding with the same Id from another product', async () => {
      const foreign = { ...mine, ProductArn: 'arn:aws:securityhub:us-east-1::product/aws/guardduty' };
      hubMock.on(GetFindingsCommand).resolves({ Findings: [foreign] });

      expect(await port().getFinding(PRODUCT_ARN, mine.Id as string)).toBeUndefined();
    });

    it('follows NextToken across pages', async () => {
      hubMock
        .on(GetFindingsCommand)
        .resolvesOnce({ Findings: others, NextToken: 'next' })
        .resolvesOnce({ Findings: [mine], NextToken: '' });

      expect(await port().getFinding(PRODUCT_ARN, mine.Id as string)).toEqual(mine);
      expect(hubMock.commandCalls(GetFindingsCommand).map((c) => c.args[0].input.NextToken)).toEqual([
        undefined,
        'next',
      ]);
    });

    it('is undefined when nothing matches, and wraps a failure', async () => {
      hubMock
        .on(GetFindingsCommand)
        .resolvesOnce({ Findings: [] })
        .rejectsOnce(new InternalException({ message: 'down', $metadata: {} }));

      expect(await port().getFinding(PRODUCT_ARN, 'nope')).toBeUndefined();
      await expect(port().getFinding(PRODUCT_ARN, 'nope')).rejects.toThrow(
        'GetFindings failed: InternalException',
      );
    });
  });

  describe('findFindings', () => {
    it('keeps only what the predicate accepts, whatever the server returned', async () => {
      const all = findings(4);
      hubMock.on(GetFindingsCommand).resolves({ Findings: all });

      const kept = await port().findFindings({}, (f) => f.Id === all[2]?.Id);

      expect(kept).toEqual([all[2]]);
    });
  });
});

describe('createFindingsPort under Security Hub throttling', () => {
  const throttled = () =>
    new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });

  /** A port on the real timers' API (faked here), with the invocation's remaining time. */
  function timedPort(remainingTimeMs?: number, random = () => 1) {
    return createFindingsPort(client, {
      accountId: ACCOUNT.accountId,
      partition: 'aws',
      random,
      ...(remainingTimeMs !== undefined ? { remainingTimeMs } : {}),
    });
  }

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-06-01T12:00:00.000Z') });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries a throttled GetFindings with a doubling back-off and returns what it then reads', async () => {
    const mine = findingFor('carol');
    hubMock
      .on(GetFindingsCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .resolves({ Findings: [mine] });

    const found = timedPort(120_000).getFinding(PRODUCT_ARN, mine.Id as string);
    // random() = 1: the full back-off each time, 250 ms doubling.
    await vi.advanceTimersByTimeAsync(249);
    expect(hubMock.commandCalls(GetFindingsCommand)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(hubMock.commandCalls(GetFindingsCommand)).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(500);
    expect(hubMock.commandCalls(GetFindingsCommand)).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1_000);

    expect(await found).toEqual(mine);
    expect(hubMock.commandCalls(GetFindingsCommand)).toHaveLength(4);
  });

  it('jitters each back-off over the whole range (full jitter)', async () => {
    const mine = findingFor('dana');
    hubMock
      .on(GetFindingsCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .resolves({ Findings: [mine] });

    // random() = 0.5: half of 250 ms, then half of 500 ms.
    const found = timedPort(120_000, () => 0.5).getFinding(PRODUCT_ARN, mine.Id as string);
    await vi.advanceTimersByTimeAsync(125);
    expect(hubMock.commandCalls(GetFindingsCommand)).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(249);
    expect(hubMock.commandCalls(GetFindingsCommand)).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);

    expect(await found).toEqual(mine);
  });

  it('retries a throttled BatchImportFindings and imports the finding', async () => {
    hubMock
      .on(BatchImportFindingsCommand)
      .rejectsOnce(throttled())
      .resolves({ FailedCount: 0, SuccessCount: 1, FailedFindings: [] });

    const imported = timedPort(120_000).importFindings(findings(1));
    await vi.advanceTimersByTimeAsync(250);
    await imported;

    expect(hubMock.commandCalls(BatchImportFindingsCommand)).toHaveLength(2);
  });

  it('stops before the invocation ends: the next back-off may not pass its remaining time less the margin', async () => {
    hubMock.on(GetFindingsCommand).rejects(throttled());
    // 30 s left, 20 s margin: 10 s of back-off. Full back-offs 250 + 500 + 1,000 + 2,000 + 4,000 = 7,750 ms; the
    // next (8,000 ms) would end at 15,750 ms, past the 10 s.
    const outcome = timedPort(THROTTLING_MARGIN_MS + 10_000)
      .getFinding(PRODUCT_ARN, 'id')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    await vi.advanceTimersByTimeAsync(7_750);
    const error = await outcome;

    expect(hubMock.commandCalls(GetFindingsCommand)).toHaveLength(6);
    expect(error).toBeInstanceOf(AwsCallError);
    expect(error).toMatchObject({ operation: 'GetFindings', code: 'ThrottlingException' });
    expect((error as AwsCallError).message).toContain('still throttled after 6 attempts in 7.8 s');
    expect((error as AwsCallError).cause).toBeInstanceOf(ThrottlingException);
  });

  it('retries for the whole budget when the invocation has two minutes: about 100 s', async () => {
    hubMock.on(BatchImportFindingsCommand).rejects(throttled());

    const outcome = timedPort(120_000)
      .importFindings(findings(1))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    await vi.advanceTimersByTimeAsync(120_000);
    const error = (await outcome) as AwsCallError;

    // 250 ms doubling to the 20 s cap: 250 + … + 16,000 = 31,750 ms, then 20 s each while they fit in 100 s.
    expect(hubMock.commandCalls(BatchImportFindingsCommand)).toHaveLength(11);
    expect(error.message).toContain('still throttled after 11 attempts in 91.8 s');
  });

  it('gives each call 60 s when it is told no deadline (sweep, CLI)', async () => {
    hubMock.on(GetFindingsCommand).rejects(throttled());

    const outcome = timedPort(undefined)
      .getFinding(PRODUCT_ARN, 'id')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    await vi.advanceTimersByTimeAsync(DEFAULT_THROTTLING_BUDGET_MS);
    const error = (await outcome) as AwsCallError;

    // 31,750 ms of doubling back-offs, then one of 20 s: 51.75 s; another would pass 60 s.
    expect(hubMock.commandCalls(GetFindingsCommand)).toHaveLength(9);
    expect(error.message).toContain('still throttled after 9 attempts in 51.8 s');
  });

  it.each([
    {
      name: 'a server error',
      error: () => new InternalException({ message: 'down', $metadata: { httpStatusCode: 500 } }),
    },
    {
      name: 'a client error',
      error: () => new InvalidInputException({ message: 'bad filter', $metadata: { httpStatusCode: 400 } }),
    },
  ])('does not retry $name itself (the SDK has already retried what is transient)', async ({ error }) => {
    hubMock.on(GetFindingsCommand).rejects(error());

    await expect(timedPort(120_000).getFinding(PRODUCT_ARN, 'id')).rejects.toThrow(AwsCallError);
    expect(hubMock.commandCalls(GetFindingsCommand)).toHaveLength(1);
  });
});
