import { readFileSync } from 'node:fs';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createKeyHistoryPort } from '../../functions/adapters/key-history.ts';
import { AwsCallError } from '../../functions/shared/errors.ts';

const trailMock = mockClient(CloudTrailClient);
const RECORD = JSON.parse(
  readFileSync(
    new URL('../fixtures/cloudtrail/record-update-access-key-deactivate-assumed-role.json', import.meta.url),
    'utf8',
  ),
) as Record<string, unknown>;
const KEY = 'AKIAXXXXXXXXXXXXXXXX';
const SINCE = new Date('2026-06-01T00:00:00Z');

/** A LookupEvents event carrying `record`, with the key and status changed. */
const event = (accessKeyId: string, extra: Record<string, unknown> = {}) => ({
  EventName: 'UpdateAccessKey',
  CloudTrailEvent: JSON.stringify({
    ...RECORD,
    requestParameters: { userName: 'alice', accessKeyId, status: 'Inactive' },
    ...extra,
  }),
});

beforeEach(() => {
  trailMock.reset();
});
afterAll(() => {
  trailMock.restore();
});

describe('createKeyHistoryPort', () => {
  const client = new CloudTrailClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });

  it('looks up UpdateAccessKey events (not the AccessKeyId attribute), pages at 2 a second, and stops at the first change of the key', async () => {
    // Prepare
    const slept: number[] = [];
    trailMock
      .on(LookupEventsCommand)
      .resolvesOnce({ Events: [event('AKIAOTHER00000000000')], NextToken: 'page-2' })
      .resolvesOnce({
        Events: [event(KEY, { errorCode: 'AccessDenied' }), event(KEY), event(KEY)],
        NextToken: 'page-3',
      });

    // Act
    const history = await createKeyHistoryPort(client, {
      sleep: async (ms) => {
        slept.push(ms);
      },
    }).statusChanges(KEY, SINCE);

    // Assess
    expect(history).toMatchObject({ complete: true, pages: 2, eventsRead: 3 });
    expect(history.changes.map((change) => change.errorCode)).toEqual(['AccessDenied', undefined]);
    expect(slept).toEqual([500]);
    const calls = trailMock.commandCalls(LookupEventsCommand);
    expect(calls[0]?.args[0].input).toEqual({
      LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'UpdateAccessKey' }],
      StartTime: SINCE,
      MaxResults: 50,
    });
    expect(calls[1]?.args[0].input.NextToken).toBe('page-2');
  });

  it('stops at its page bound and says the search is incomplete', async () => {
    trailMock
      .on(LookupEventsCommand)
      .resolves({ Events: [event('AKIAOTHER00000000000')], NextToken: 'more' });
    const history = await createKeyHistoryPort(client, { sleep: async () => {}, maxPages: 3 }).statusChanges(
      KEY,
      SINCE,
    );
    expect(history).toMatchObject({ changes: [], complete: false, pages: 3, eventsRead: 3 });
    expect(trailMock.commandCalls(LookupEventsCommand)).toHaveLength(3);
  });

  it('is complete when the last page has no NextToken, and skips an unreadable record', async () => {
    trailMock.on(LookupEventsCommand).resolves({ Events: [{ CloudTrailEvent: '{not json' }] });
    const history = await createKeyHistoryPort(client, { sleep: async () => {} }).statusChanges(KEY, SINCE);
    expect(history).toMatchObject({ changes: [], complete: true, pages: 1, eventsRead: 1 });
  });

  it('throws AwsCallError naming cloudtrail:LookupEvents when the call fails', async () => {
    trailMock
      .on(LookupEventsCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const lookup = createKeyHistoryPort(client, { sleep: async () => {} }).statusChanges(KEY, SINCE);
    await expect(lookup).rejects.toBeInstanceOf(AwsCallError);
    await expect(lookup).rejects.toMatchObject({ operation: 'cloudtrail:LookupEvents' });
  });
});
