import {
  InternalException as EventBridgeInternalException,
  EventBridgeServiceException,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  IAMServiceException,
  ListAccessKeysCommand,
  ServiceFailureException,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  BatchImportFindingsCommand,
  GetFindingsCommand,
  InternalException as SecurityHubInternalException,
  SecurityHubServiceException,
} from '@aws-sdk/client-securityhub';
import { afterAll, describe, expect, it } from 'vitest';
import { createDetector } from '../../functions/detector/handler.ts';
import {
  AwsCallError,
  FindingImportError,
  NotificationError,
  RemediationNotRecordedError,
} from '../../functions/shared/errors.ts';
import { keyEvent } from './events.ts';
import {
  captureOutput,
  createMockWorld,
  detectorConfig,
  fuzzLogger,
  LAMBDA_CONTEXT,
  type Scenario,
} from './mock-harness.ts';

const metadata = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

type Service = 'iam' | 'securityhub' | 'events';

/** The errors the SDK raises for each fault, per service, as its own exception classes. */
const FAULTS: Record<string, Record<Service, () => Error>> = {
  throttling: {
    iam: () =>
      new IAMServiceException({
        name: 'Throttling',
        $fault: 'client',
        message: 'Rate exceeded',
        ...metadata(400),
      }),
    securityhub: () =>
      new SecurityHubServiceException({
        name: 'TooManyRequestsException',
        $fault: 'client',
        message: 'Rate exceeded',
        ...metadata(429),
      }),
    events: () =>
      new EventBridgeServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        message: 'Rate exceeded',
        ...metadata(400),
      }),
  },
  'server error': {
    iam: () => new ServiceFailureException({ message: 'Internal failure', ...metadata(500) }),
    securityhub: () => new SecurityHubInternalException({ message: 'Internal failure', ...metadata(500) }),
    events: () => new EventBridgeInternalException({ message: 'Internal failure', ...metadata(500) }),
  },
  timeout: {
    iam: () =>
      Object.assign(new Error('a request has exceeded the configured requestTimeout'), {
        name: 'TimeoutError',
      }),
    securityhub: () =>
      Object.assign(new Error('a request has exceeded the configured requestTimeout'), {
        name: 'TimeoutError',
      }),
    events: () =>
      Object.assign(new Error('a request has exceeded the configured requestTimeout'), {
        name: 'TimeoutError',
      }),
  },
};

const NOW = Date.now();
const older = {
  id: 'AKIAOLDEROLDEROLDER1',
  status: 'Active',
  createDate: new Date(NOW - 40 * 86_400_000),
  lastUsed: undefined,
};
const newer = {
  id: 'AKIANEWERNEWERNEWER2',
  status: 'Active',
  createDate: new Date(NOW - 86_400_000),
  lastUsed: undefined,
};

const violation: Scenario = {
  mode: 'deactivate',
  keepKey: 'newest',
  graceHours: 0,
  notify: true,
  userExists: true,
  exempt: false,
  nameCase: 'as-asked',
  keys: [older, newer],
};
// A compliant user whose stored finding is read: one key is inactive, so a record of KeyWarden's may exist.
const compliant: Scenario = { ...violation, keys: [{ ...older, status: 'Inactive' }, newer] };

interface FaultRow {
  readonly operation: string;
  /** Which call of that operation fails, when it matters. */
  readonly which?: string;
  readonly service: Service;
  readonly arm: (fault: Error) => void;
  readonly scenario: Scenario;
  /** The error class and AwsCallError operation the handler must reject with. */
  readonly expected: typeof AwsCallError | typeof NotificationError | typeof RemediationNotRecordedError;
  /** Whether the surplus key was already deactivated when the fault hit. */
  readonly deactivatedBefore: boolean;
}

// Every AWS call on the detector's path, each in a scenario that reaches it.
const world = createMockWorld();
const logger = fuzzLogger();
let injected = 0;

const ROWS: FaultRow[] = [
  {
    operation: 'GetUser',
    service: 'iam',
    arm: (fault) => world.override().iam.on(GetUserCommand).rejects(fault),
    scenario: violation,
    expected: AwsCallError,
    deactivatedBefore: false,
  },
  {
    operation: 'ListAccessKeys',
    service: 'iam',
    arm: (fault) => world.override().iam.on(ListAccessKeysCommand).rejects(fault),
    scenario: violation,
    expected: AwsCallError,
    deactivatedBefore: false,
  },
  {
    operation: 'GetAccessKeyLastUsed',
    service: 'iam',
    arm: (fault) => world.override().iam.on(GetAccessKeyLastUsedCommand).rejects(fault),
    scenario: violation,
    expected: AwsCallError,
    deactivatedBefore: false,
  },
  {
    operation: 'UpdateAccessKey',
    service: 'iam',
    arm: (fault) => world.override().iam.on(UpdateAccessKeyCommand).rejects(fault),
    scenario: violation,
    expected: AwsCallError,
    deactivatedBefore: false,
  },
  {
    operation: 'BatchImportFindings',
    which: 'the intent, before the write',
    service: 'securityhub',
    arm: (fault) => world.override().securityHub.on(BatchImportFindingsCommand).rejects(fault),
    scenario: violation,
    // Nothing is written to IAM when the intent cannot be recorded first.
    expected: AwsCallError,
    deactivatedBefore: false,
  },
  {
    operation: 'BatchImportFindings',
    which: 'the outcome, after the write',
    service: 'securityhub',
    arm: (fault) =>
      world
        .override()
        .securityHub.on(BatchImportFindingsCommand)
        .resolvesOnce({ FailedCount: 0, SuccessCount: 1, FailedFindings: [] })
        .rejects(fault),
    scenario: violation,
    // The key is already off: the import error is wrapped with the record of the deactivation.
    expected: RemediationNotRecordedError,
    deactivatedBefore: true,
  },
  {
    operation: 'GetFindings',
    service: 'securityhub',
    arm: (fault) => world.override().securityHub.on(GetFindingsCommand).rejects(fault),
    scenario: compliant,
    expected: AwsCallError,
    deactivatedBefore: false,
  },
  {
    operation: 'PutEvents',
    service: 'events',
    arm: (fault) => world.override().eventBridge.on(PutEventsCommand).rejects(fault),
    scenario: violation,
    expected: NotificationError,
    deactivatedBefore: true,
  },
];

async function deliver(scenario: Scenario, arm: () => void) {
  world.install(scenario);
  arm();
  const handler = createDetector({
    config: detectorConfig(scenario),
    clients: world.clients,
    logger,
    sleep: async () => {},
  });
  return captureOutput(() =>
    handler(keyEvent({ userName: 'fault-user', accessKeyId: newer.id }), LAMBDA_CONTEXT),
  );
}

afterAll(() => {
  console.info(
    `[reliability] mocked faults: ${injected} faults injected (${ROWS.length} operations x ${Object.keys(FAULTS).length} kinds, plus partial failures); every one rethrown as a named error`,
  );
});

describe('detector handler with AWS faults (aws-sdk-client-mock)', () => {
  it('evaluates and deactivates when no call fails (the twin of every fault below)', async () => {
    const { settled } = await deliver(violation, () => {});

    expect(settled).toEqual({
      ok: true,
      value: expect.objectContaining({ verdict: 'violation', action: 'deactivated' }),
    });
    expect(world.updates()).toHaveLength(1);
  });

  for (const row of ROWS) {
    for (const [kind, make] of Object.entries(FAULTS)) {
      it(`rethrows ${row.expected.name} when ${row.operation}${row.which ? ` (${row.which})` : ''} fails with ${kind}`, async () => {
        const fault = make[row.service]();
        // Only the one operation fails; the world answers everything else.
        const { settled, lines } = await deliver(row.scenario, () => row.arm(fault));
        injected += 1;

        expect(settled.ok).toBe(false);
        if (settled.ok) return;
        expect(settled.error).toBeInstanceOf(row.expected);
        const callError =
          settled.error instanceof RemediationNotRecordedError ? settled.error.cause : settled.error;
        if (row.expected !== NotificationError) expect(callError).toBeInstanceOf(AwsCallError);
        if (callError instanceof AwsCallError) {
          expect(callError.operation).toBe(row.operation);
          expect(callError.code).toBe(fault.name);
          expect(callError.cause).toBe(fault);
        }

        // Nothing is ever reported as done that was not: no PASSED finding unless the key is off.
        const statuses = world
          .imports()
          .flatMap((call) => (call.Findings ?? []).map((f) => f.Compliance?.Status));
        if (!row.deactivatedBefore) expect(statuses).not.toContain('PASSED');
        expect(lines.some((line) => line.includes('"level":"ERROR"') && line.includes(fault.name))).toBe(
          true,
        );
      });
    }
  }

  it('retries the findings Security Hub reports as failed, then throws FindingImportError (wrapped: the key is off)', async () => {
    let calls = 0;
    const { settled } = await deliver(violation, () => {
      world
        .override()
        .securityHub.on(BatchImportFindingsCommand)
        .callsFake((input: { Findings?: { Id?: string }[] }) =>
          // The intent is accepted; the outcome is rejected on every attempt.
          ++calls === 1
            ? { FailedCount: 0, SuccessCount: 1, FailedFindings: [] }
            : {
                FailedCount: 1,
                SuccessCount: 0,
                FailedFindings: [
                  { Id: input.Findings?.[0]?.Id, ErrorCode: 'InvalidInput', ErrorMessage: 'rejected' },
                ],
              },
        );
    });
    injected += 1;

    expect(settled.ok).toBe(false);
    if (settled.ok) return;
    expect(settled.error).toBeInstanceOf(RemediationNotRecordedError);
    expect((settled.error as RemediationNotRecordedError).cause).toBeInstanceOf(FindingImportError);
    expect(world.imports()).toHaveLength(1 + 3);
  });

  it('succeeds when a finding Security Hub reported as failed is accepted on the next attempt', async () => {
    const { settled } = await deliver(violation, () => {
      world
        .override()
        .securityHub.on(BatchImportFindingsCommand)
        .resolvesOnce({
          FailedCount: 1,
          SuccessCount: 0,
          FailedFindings: [
            {
              Id: 'keywarden/cis-1.13/123456789012/fault-user',
              ErrorCode: 'Throttled',
              ErrorMessage: 'try again',
            },
          ],
        })
        .resolves({ FailedCount: 0, SuccessCount: 1, FailedFindings: [] });
    });
    injected += 1;

    expect(settled).toEqual({ ok: true, value: expect.objectContaining({ action: 'deactivated' }) });
    // The intent twice (rejected, then accepted), then the outcome.
    expect(world.imports()).toHaveLength(3);
  });

  it('throws FindingImportError (wrapped: the key is off) at once when a failure names no finding it could retry', async () => {
    const { settled } = await deliver(violation, () => {
      world
        .override()
        .securityHub.on(BatchImportFindingsCommand)
        .resolvesOnce({ FailedCount: 0, SuccessCount: 1, FailedFindings: [] })
        .resolves({ FailedCount: 1, SuccessCount: 0, FailedFindings: [] });
    });
    injected += 1;

    expect(settled.ok).toBe(false);
    if (settled.ok) return;
    expect(settled.error).toBeInstanceOf(RemediationNotRecordedError);
    expect((settled.error as RemediationNotRecordedError).cause).toBeInstanceOf(FindingImportError);
    expect(world.imports()).toHaveLength(2);
  });
});
