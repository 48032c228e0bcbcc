/**
 * The detector over mocked SDK clients: IAM's eventual consistency, the re-read before acting, and failures
 * that must reach Lambda as errors.
 */

import {
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  BatchImportFindingsCommand,
  GetFindingsCommand,
  SecurityHubClient,
  ThrottlingException,
} from '@aws-sdk/client-securityhub';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClients } from '../../functions/adapters/clients.ts';
import type { Finding } from '../../functions/core/finding.ts';
import { createDetector } from '../../functions/detector/handler.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { AwsCallError, FindingImportError } from '../../functions/shared/errors.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { keyEvent, LAMBDA_CONTEXT } from './moto-helpers.ts';

const iamMock = mockClient(IAMClient);
const hubMock = mockClient(SecurityHubClient);

const USER = {
  UserName: 'carol',
  UserId: 'AIDACAROL000000000001',
  Arn: 'arn:aws:iam::123456789012:user/carol',
  Path: '/',
  CreateDate: new Date('2024-01-01T00:00:00Z'),
};
const OLD = {
  UserName: 'carol',
  AccessKeyId: 'AKIAOLD0000000000001',
  Status: 'Active' as const,
  CreateDate: new Date('2026-01-01T00:00:00Z'),
};
const NEW = { ...OLD, AccessKeyId: 'AKIANEW0000000000002', CreateDate: new Date('2026-05-31T23:59:00Z') };
const inactive = <T extends object>(key: T) => ({ ...key, Status: 'Inactive' as const });

let sleeps: number[];

function detector(env: Record<string, string> = {}) {
  sleeps = [];
  return createDetector({
    config: loadConfig(env),
    clients: createClients({ region: 'us-east-1' }),
    logger: createLogger('keywarden-detector-test'),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
}

/** ListAccessKeys answers these listings in turn, repeating the last. */
function listings(...pages: (typeof OLD)[][]) {
  let stub = iamMock.on(ListAccessKeysCommand);
  for (const page of pages) stub = stub.resolvesOnce({ AccessKeyMetadata: page, IsTruncated: false });
  stub.resolves({ AccessKeyMetadata: pages[pages.length - 1], IsTruncated: false });
}

const imported = (): Finding[] =>
  hubMock.commandCalls(BatchImportFindingsCommand).flatMap((c) => c.args[0].input.Findings ?? []);

beforeEach(() => {
  iamMock.reset();
  hubMock.reset();
  iamMock.on(GetUserCommand).resolves({ User: USER });
  iamMock
    .on(GetAccessKeyLastUsedCommand)
    .resolves({ AccessKeyLastUsed: { ServiceName: 'N/A', Region: 'N/A' } });
  iamMock.on(UpdateAccessKeyCommand).resolves({});
  hubMock.on(BatchImportFindingsCommand).resolves({ FailedCount: 0, SuccessCount: 1, FailedFindings: [] });
  hubMock.on(GetFindingsCommand).resolves({ Findings: [] });
});

afterEach(() => {
  // Every finding the detector tried to import must be valid ASFF.
  for (const finding of imported()) expectValidAsff(finding);
});

beforeAll(() => {
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
});

afterAll(() => {
  vi.unstubAllEnvs();
  iamMock.restore();
  hubMock.restore();
});

describe('detector and IAM eventual consistency', () => {
  it('re-reads when the created key is not listed yet, then reports the violation', async () => {
    listings([OLD], [OLD, NEW]);

    const result = await detector()(
      keyEvent({ userName: 'carol', accessKeyId: NEW.AccessKeyId }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ verdict: 'violation' });
    expect(iamMock.commandCalls(ListAccessKeysCommand)).toHaveLength(2);
    expect(sleeps).toEqual([250]);
    expect(imported().map((f) => f.Compliance?.Status)).toEqual(['FAILED']);
    expectValidAsff(imported());
  });

  it('does not re-read when the first listing already shows the created key', async () => {
    listings([OLD, NEW]);

    await detector()(keyEvent({ userName: 'carol', accessKeyId: NEW.AccessKeyId }), LAMBDA_CONTEXT);

    expect(iamMock.commandCalls(ListAccessKeysCommand)).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('re-reads a bounded number of times with back-off, then decides on what IAM shows', async () => {
    listings([OLD]);

    const result = await detector()(
      keyEvent({ userName: 'carol', accessKeyId: NEW.AccessKeyId }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ verdict: 'compliant' });
    expect(iamMock.commandCalls(ListAccessKeysCommand)).toHaveLength(4);
    expect(sleeps).toEqual([250, 500, 1000]);
  });

  it('reads once with CONSISTENCY_RETRIES=0', async () => {
    listings([OLD]);

    await detector({ CONSISTENCY_RETRIES: '0' })(
      keyEvent({ userName: 'carol', accessKeyId: NEW.AccessKeyId }),
      LAMBDA_CONTEXT,
    );

    expect(iamMock.commandCalls(ListAccessKeysCommand)).toHaveLength(1);
  });

  it.each([
    {
      case: 'a deleted key still listed',
      event: { eventName: 'DeleteAccessKey' as const, accessKeyId: OLD.AccessKeyId },
      pages: [[OLD, NEW], [NEW]],
      verdict: 'compliant',
    },
    {
      case: 'a re-activated key still listed inactive',
      event: {
        eventName: 'UpdateAccessKey' as const,
        accessKeyId: OLD.AccessKeyId,
        status: 'Active' as const,
      },
      pages: [
        [inactive(OLD), NEW],
        [OLD, NEW],
      ],
      verdict: 'violation',
    },
  ])('re-reads for $case', async ({ event, pages, verdict }) => {
    listings(...pages);

    const result = await detector()(keyEvent({ userName: 'carol', ...event }), LAMBDA_CONTEXT);

    expect(result).toMatchObject({ verdict });
    expect(iamMock.commandCalls(ListAccessKeysCommand)).toHaveLength(2);
  });

  it('a created key already switched off counts as listed: no waiting for it to become active', async () => {
    listings([OLD, inactive(NEW)]);

    await detector()(keyEvent({ userName: 'carol', accessKeyId: NEW.AccessKeyId }), LAMBDA_CONTEXT);

    expect(sleeps).toEqual([]);
  });
});

describe('detector deactivation', () => {
  it('reads the keys after the write and undoes it when no key is left active', async () => {
    // The kept key was switched off by someone else between KeyWarden's read and its write.
    listings([OLD, NEW], [inactive(OLD), inactive(NEW)], [OLD, inactive(NEW)]);

    const result = await detector({ REMEDIATION_MODE: 'deactivate' })(
      keyEvent({ userName: 'carol', accessKeyId: NEW.AccessKeyId }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ verdict: 'violation', action: 'rolled-back' });
    expect(iamMock.commandCalls(UpdateAccessKeyCommand).map((c) => c.args[0].input)).toEqual([
      { UserName: 'carol', AccessKeyId: OLD.AccessKeyId, Status: 'Inactive' },
      { UserName: 'carol', AccessKeyId: OLD.AccessKeyId, Status: 'Active' },
    ]);
    const [intent, finding] = imported();
    expect(intent?.ProductFields?.['keywarden/detector/pendingDeactivation']).toBe(OLD.AccessKeyId);
    expect(finding?.Compliance?.Status).toBe('FAILED');
    expect(finding?.Compliance?.StatusReasons?.[0]?.ReasonCode).toBe('DEACTIVATION_ROLLED_BACK');
    expect(finding?.Description).toContain(`so it re-activated ${OLD.AccessKeyId}`);
    expectValidAsff(imported());
  });

  it('never reports PASSED while IAM still lists the key active after the re-reads', async () => {
    listings([OLD, NEW]);

    const result = await detector({ REMEDIATION_MODE: 'deactivate' })(
      keyEvent({ userName: 'carol', accessKeyId: NEW.AccessKeyId }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ verdict: 'violation', action: 'unconfirmed' });
    const final = imported().at(-1);
    expect(final?.Compliance?.Status).toBe('FAILED');
    expect(final?.Description).toContain('IAM still lists it active');
  });

  it('deactivates exactly the surplus key of the user named in the event', async () => {
    listings([OLD, NEW]);

    await detector({ REMEDIATION_MODE: 'deactivate' })(
      keyEvent({ userName: 'carol', accessKeyId: NEW.AccessKeyId }),
      LAMBDA_CONTEXT,
    );

    expect(iamMock.commandCalls(UpdateAccessKeyCommand).map((c) => c.args[0].input)).toEqual([
      { UserName: 'carol', AccessKeyId: OLD.AccessKeyId, Status: 'Inactive' },
    ]);
    expectValidAsff(imported());
  });
});

describe('detector failures', () => {
  it('rethrows an AWS failure so Lambda retries, and imports nothing', async () => {
    iamMock.on(GetUserCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }));
    listings([OLD, NEW]);

    await expect(
      detector()(keyEvent({ userName: 'carol', accessKeyId: NEW.AccessKeyId }), LAMBDA_CONTEXT),
    ).rejects.toBeInstanceOf(AwsCallError);
    expect(hubMock.commandCalls(BatchImportFindingsCommand)).toHaveLength(0);
  });

  it('rethrows a partial import failure as FindingImportError naming the finding', async () => {
    listings([OLD, NEW]);
    hubMock.on(BatchImportFindingsCommand).resolves({
      FailedCount: 1,
      SuccessCount: 0,
      FailedFindings: [
        { Id: 'keywarden/cis-1.13/123456789012/carol', ErrorCode: 'InvalidInput', ErrorMessage: 'x' },
      ],
    });

    const error = await detector()(
      keyEvent({ userName: 'carol', accessKeyId: NEW.AccessKeyId }),
      LAMBDA_CONTEXT,
    ).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(FindingImportError);
    expect((error as Error).message).toContain('keywarden/cis-1.13/123456789012/carol (InvalidInput: x)');
  });
});
