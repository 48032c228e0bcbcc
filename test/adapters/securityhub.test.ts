import {
  BatchImportFindingsCommand,
  GetFindingsCommand,
  InternalException,
  SecurityHubClient,
  ThrottlingException,
} from '@aws-sdk/client-securityhub';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createFindingsPort } from '../../functions/adapters/securityhub.ts';
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

    it('wraps throttling that outlived the SDK retries in AwsCallError with the code', async () => {
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
