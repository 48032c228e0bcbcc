import {
  CredentialReportNotPresentException,
  CredentialReportNotReadyException,
  GenerateCredentialReportCommand,
  GetCredentialReportCommand,
  IAMClient,
  IAMServiceException,
  ListUsersCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsCallError, CredentialReportError } from '../../functions/shared/errors.ts';
import { createAccountIamPort } from '../../functions/sweep/iam-account.ts';

const iam = mockClient(IAMClient);
const CSV =
  'user,arn,access_key_1_active,access_key_2_active\nx,arn:aws:iam::123456789012:user/x,true,true\n';
const GENERATED = new Date('2026-06-01T10:00:00Z');

function port(clock?: { now: number }) {
  const sleeps: number[] = [];
  const adapter = createAccountIamPort(new IAMClient({ region: 'us-east-1' }), {
    sleep: async (ms) => {
      sleeps.push(ms);
      if (clock) clock.now += ms;
    },
    ...(clock ? { now: () => clock.now, reportTimeoutMs: 30_000 } : {}),
  });
  return { adapter, sleeps };
}

const notReady = () =>
  new CredentialReportNotReadyException({ message: 'Report is in progress', $metadata: {} });

describe('createAccountIamPort credentialReport', () => {
  beforeEach(() => iam.reset());

  it('polls GenerateCredentialReport with growing waits until COMPLETE, then reads the report once', async () => {
    // Prepare
    iam
      .on(GenerateCredentialReportCommand)
      .resolvesOnce({ State: 'STARTED' })
      .resolvesOnce({ State: 'INPROGRESS' })
      .resolvesOnce({ State: 'INPROGRESS' })
      .resolves({ State: 'COMPLETE' });
    iam
      .on(GetCredentialReportCommand)
      .resolves({ Content: new TextEncoder().encode(CSV), GeneratedTime: GENERATED });
    const { adapter, sleeps } = port();

    // Act
    const report = await adapter.credentialReport();

    // Assess
    expect(report).toEqual({ csv: CSV, generatedAt: GENERATED });
    expect(sleeps).toEqual([500, 1000, 2000]);
    expect(iam.commandCalls(GenerateCredentialReportCommand)).toHaveLength(4);
    expect(iam.commandCalls(GetCredentialReportCommand)).toHaveLength(1);
  });

  it('does not wait when a recent report exists (COMPLETE at once)', async () => {
    // Prepare
    iam.on(GenerateCredentialReportCommand).resolves({ State: 'COMPLETE' });
    iam
      .on(GetCredentialReportCommand)
      .resolves({ Content: new TextEncoder().encode(CSV), GeneratedTime: GENERATED });
    const { adapter, sleeps } = port();

    // Act
    await adapter.credentialReport();

    // Assess
    expect(sleeps).toEqual([]);
  });

  it.each([
    { case: 'still in progress (ReportInProgress)', error: notReady() },
    {
      case: 'not present (ReportNotPresent)',
      error: new CredentialReportNotPresentException({ message: 'no report', $metadata: {} }),
    },
  ])('waits and tries again when GetCredentialReport says the report is $case', async ({ error }) => {
    // Prepare
    iam.on(GenerateCredentialReportCommand).resolves({ State: 'COMPLETE' });
    iam
      .on(GetCredentialReportCommand)
      .rejectsOnce(error)
      .resolves({ Content: new TextEncoder().encode(CSV), GeneratedTime: GENERATED });
    const { adapter, sleeps } = port();

    // Act
    const report = await adapter.credentialReport();

    // Assess
    expect(report.csv).toBe(CSV);
    expect(sleeps).toEqual([500]);
    expect(iam.commandCalls(GenerateCredentialReportCommand)).toHaveLength(2);
  });

  it('throws CredentialReportError when the report is not ready before the timeout', async () => {
    // Prepare
    iam.on(GenerateCredentialReportCommand).resolves({ State: 'INPROGRESS' });
    const clock = { now: 0 };
    const { adapter, sleeps } = port(clock);

    // Act
    const failure = adapter.credentialReport();

    // Assess
    await expect(failure).rejects.toThrow(CredentialReportError);
    await expect(failure).rejects.toThrow('not ready after 30 s');
    expect(sleeps.every((ms) => ms <= 10_000)).toBe(true);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(30_000);
    expect(iam.commandCalls(GetCredentialReportCommand)).toHaveLength(0);
  });

  it('wraps a denied GenerateCredentialReport in an AwsCallError naming the operation', async () => {
    // Prepare
    iam.on(GenerateCredentialReportCommand).rejects(
      new IAMServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: {},
        message:
          'User: arn:aws:iam::123456789012:user/x is not authorized to perform: iam:GenerateCredentialReport',
      }),
    );
    const { adapter } = port();

    // Act
    const failure = adapter.credentialReport();

    // Assess
    await expect(failure).rejects.toBeInstanceOf(AwsCallError);
    await expect(failure).rejects.toMatchObject({
      operation: 'GenerateCredentialReport',
      code: 'AccessDenied',
    });
  });
});

describe('createAccountIamPort listUsers', () => {
  beforeEach(() => iam.reset());

  it('follows Marker across pages', async () => {
    // Prepare
    iam
      .on(ListUsersCommand, { Marker: undefined })
      .resolves({ Users: [user('a'), user('b')], IsTruncated: true, Marker: 'm1' })
      .on(ListUsersCommand, { Marker: 'm1' })
      .resolves({ Users: [user('c')], IsTruncated: false });
    const { adapter } = port();

    // Act
    const users = await adapter.listUsers();

    // Assess
    expect(users.map((u) => u.userName)).toEqual(['a', 'b', 'c']);
    expect(iam.commandCalls(ListUsersCommand).map((call) => call.args[0].input.Marker)).toEqual([
      undefined,
      'm1',
    ]);
  });
});

function user(name: string) {
  return {
    UserName: name,
    Arn: `arn:aws:iam::123456789012:user/${name}`,
    Path: '/',
    UserId: `AIDA${name}`,
    CreateDate: new Date(0),
  };
}
