import { readFileSync } from 'node:fs';
import {
  CloudTrailClient,
  InvalidLookupAttributesException,
  LookupEventsCommand,
} from '@aws-sdk/client-cloudtrail';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createTagEventsPort } from '../../functions/adapters/tag-events.ts';
import { AwsCallError } from '../../functions/shared/errors.ts';

const trailMock = mockClient(CloudTrailClient);
const RECORD = JSON.parse(
  readFileSync(new URL('../fixtures/cloudtrail/record-tag-user-assumed-role.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;
const NOW = new Date('2026-06-01T12:00:00.000Z');

/** A LookupEvents entry carrying `record` (as CloudTrail does, the whole record as a JSON string). */
function entry(overrides: Record<string, unknown> = {}) {
  const record = { ...RECORD, ...overrides };
  return {
    EventId: String(record.eventID),
    EventName: 'TagUser',
    EventSource: 'iam.amazonaws.com',
    EventTime: new Date(String(record.eventTime)),
    Username: 'jane',
    CloudTrailEvent: JSON.stringify(record),
  };
}

function port(options: { maxPages?: number } = {}) {
  const sleeps: number[] = [];
  let now = NOW.getTime();
  const tagEvents = createTagEventsPort(new CloudTrailClient({ region: 'us-east-1' }), {
    // Time moves only when the port sleeps, so the pacing is what the test sees.
    clock: () => new Date(now),
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    ...options,
  });
  return { tagEvents, sleeps };
}

beforeEach(() => {
  trailMock.reset();
});

afterAll(() => {
  trailMock.restore();
});

describe('createTagEventsPort', () => {
  it('looks up TagUser events of the last 90 days, and proves who set the tag from the record', async () => {
    trailMock.on(LookupEventsCommand).resolves({ Events: [entry()] });
    const { tagEvents } = port();

    const evidence = await tagEvents.exemptionEvidence('Alice', 'KeyWarden:Exempt');

    expect(trailMock.commandCalls(LookupEventsCommand)[0]?.args[0].input).toEqual({
      LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'TagUser' }],
      StartTime: new Date('2026-03-03T12:00:00.000Z'),
      EndTime: NOW,
      MaxResults: 50,
    });
    expect(evidence).toEqual({
      kind: 'proven',
      setting: {
        setterArn: 'arn:aws:sts::123456789012:assumed-role/security-admin/jane',
        setterIssuerArn: 'arn:aws:iam::123456789012:role/security-admin',
        setterType: 'AssumedRole',
        setAt: new Date('2026-05-30T12:00:00Z'),
        value: 'true',
        eventId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
        source: 'cloudtrail',
      },
    });
  });

  it('reads the pages once per port, two requests a second at most, and answers every user from them', async () => {
    trailMock
      .on(LookupEventsCommand)
      .resolvesOnce({
        Events: [entry({ requestParameters: { userName: 'bob', tags: [] } })],
        NextToken: 't1',
      })
      .resolvesOnce({ Events: [entry()], NextToken: 't2' })
      .resolvesOnce({ Events: [] });
    const { tagEvents, sleeps } = port();

    const alice = await tagEvents.exemptionEvidence('alice', 'keywarden:exempt');
    const carol = await tagEvents.exemptionEvidence('carol', 'keywarden:exempt');

    expect(trailMock.commandCalls(LookupEventsCommand).map((call) => call.args[0].input.NextToken)).toEqual([
      undefined,
      't1',
      't2',
    ]);
    expect(sleeps).toEqual([500, 500]);
    expect(alice.kind).toBe('proven');
    expect(carol).toMatchObject({
      kind: 'unproven',
      reason: expect.stringContaining('no TagUser of keywarden:exempt on carol'),
    });
  });

  it('stops at its page bound and says the newest setting may not have been read', async () => {
    trailMock.on(LookupEventsCommand).resolves({ Events: [], NextToken: 'more' });
    const { tagEvents } = port({ maxPages: 3 });

    const evidence = await tagEvents.exemptionEvidence('alice', 'keywarden:exempt');

    expect(trailMock.commandCalls(LookupEventsCommand)).toHaveLength(3);
    expect(evidence).toMatchObject({
      kind: 'unproven',
      reason: expect.stringContaining('more TagUser events than KeyWarden reads'),
    });
  });

  it.each([
    { case: 'a failed call', overrides: { errorCode: 'AccessDenied' } },
    { case: 'another event', overrides: { eventName: 'UntagUser' } },
    { case: 'another service', overrides: { eventSource: 'sts.amazonaws.com' } },
  ])('takes no proof from $case', async ({ overrides }) => {
    trailMock.on(LookupEventsCommand).resolves({ Events: [entry(overrides)] });
    expect((await port().tagEvents.exemptionEvidence('alice', 'keywarden:exempt')).kind).toBe('unproven');
  });

  it('takes the newest TagUser of the tag: it set the value IAM shows', async () => {
    trailMock.on(LookupEventsCommand).resolves({
      Events: [
        entry({
          eventTime: '2026-05-31T09:00:00Z',
          eventID: 'newer',
          requestParameters: {
            userName: 'alice',
            tags: [{ key: 'keywarden:exempt', value: '2026-06-20T00:00:00Z' }],
          },
        }),
        entry(),
      ],
    });
    const evidence = await port().tagEvents.exemptionEvidence('alice', 'keywarden:exempt');
    expect(evidence).toMatchObject({
      kind: 'proven',
      setting: { eventId: 'newer', value: '2026-06-20T00:00:00Z' },
    });
  });

  it('throws AwsCallError naming LookupEvents, and reads again on the next question', async () => {
    trailMock
      .on(LookupEventsCommand)
      .rejectsOnce(new InvalidLookupAttributesException({ message: 'bad attribute', $metadata: {} }))
      .resolves({ Events: [entry()] });
    const { tagEvents } = port();

    await expect(tagEvents.exemptionEvidence('alice', 'keywarden:exempt')).rejects.toThrow(AwsCallError);
    expect((await tagEvents.exemptionEvidence('alice', 'keywarden:exempt')).kind).toBe('proven');
  });
});
