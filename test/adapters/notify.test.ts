import { EventBridgeClient, InternalException, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createNotifier } from '../../functions/adapters/notify.ts';
import { NotificationError } from '../../functions/shared/errors.ts';

const eventsMock = mockClient(EventBridgeClient);
const notifier = createNotifier(new EventBridgeClient({ region: 'us-east-1' }), 'security-events');
const DETAIL = {
  accountId: '123456789012',
  userName: 'bob',
  findingId: 'keywarden/cis-1.13/123456789012/bob',
};

beforeEach(() => {
  eventsMock.reset();
});

afterAll(() => {
  eventsMock.restore();
});

describe('createNotifier', () => {
  it.each([
    ['Violation Detected', 'KeyWarden Violation Detected'],
    ['Key Deactivated', 'KeyWarden Key Deactivated'],
    ['Violation Resolved', 'KeyWarden Violation Resolved'],
    ['Key Minted By Another Principal', 'KeyWarden Key Minted By Another Principal'],
  ] as const)('puts one %s event from source keywarden on the bus', async (outcome, detailType) => {
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });

    await notifier.notify({ outcome, detail: DETAIL });

    expect(eventsMock.commandCalls(PutEventsCommand).map((c) => c.args[0].input)).toEqual([
      {
        Entries: [
          {
            EventBusName: 'security-events',
            Source: 'keywarden',
            DetailType: detailType,
            Detail: JSON.stringify(DETAIL),
          },
        ],
      },
    ]);
  });

  it('throws NotificationError with the code when EventBridge rejects the entry (FailedEntryCount)', async () => {
    eventsMock.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [
        { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' },
      ],
    });

    const error = await notifier.notify({ outcome: 'Key Deactivated', detail: DETAIL }).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(NotificationError);
    expect((error as Error).message).toBe(
      'PutEvents rejected the event: NotAuthorizedForSourceException: Not authorized for the source.',
    );
  });

  it('throws NotificationError keeping the cause when the call fails', async () => {
    const failure = new InternalException({ message: 'down', $metadata: {} });
    eventsMock.on(PutEventsCommand).rejects(failure);

    const error = await notifier.notify({ outcome: 'Violation Detected', detail: DETAIL }).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(NotificationError);
    expect((error as Error).message).toBe('PutEvents failed: InternalException: down');
    expect((error as Error).cause).toBe(failure);
  });
});
