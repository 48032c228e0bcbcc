import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createUsageEventsPort } from '../../functions/adapters/usage-events.ts';
import { usageWindow } from '../../functions/core/usage-evidence.ts';

const trailMock = mockClient(CloudTrailClient);
const NOW = new Date('2026-06-01T12:00:00.000Z');
const OLD = 'AKIAOLD0000000000001';
const NEW = 'AKIANEW0000000000002';

/** A LookupEvents entry for a call signed with `accessKeyId` (the record as a JSON string, as CloudTrail sends it). */
function entry(accessKeyId: string, minute: number, ip = '198.51.100.10') {
  const eventTime = new Date(NOW.getTime() - minute * 60_000).toISOString();
  return {
    EventId: `ev-${accessKeyId}-${minute}`,
    EventName: 'DescribeInstances',
    AccessKeyId: accessKeyId,
    CloudTrailEvent: JSON.stringify({
      userIdentity: { type: 'IAMUser', accessKeyId },
      eventTime,
      eventSource: 'ec2.amazonaws.com',
      eventName: 'DescribeInstances',
      sourceIPAddress: ip,
      userAgent: 'app/1.0',
    }),
  };
}

/** Time moves only when the port sleeps, so the pacing is what the test sees; `at` logs each request's time. */
function port(options: { maxPages?: number; requestBudget?: number } = {}) {
  const sleeps: number[] = [];
  let now = NOW.getTime();
  const clients = new Map<string, CloudTrailClient>();
  const clientFor = (region: string) => {
    let client = clients.get(region);
    if (client === undefined) {
      client = new CloudTrailClient({ region });
      clients.set(region, client);
    }
    return client;
  };
  trailMock.on(LookupEventsCommand).callsFake(async () => ({ Events: [] }));
  const usageEvents = createUsageEventsPort(clientFor, {
    clock: () => new Date(now),
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    ...options,
  });
  return { usageEvents, sleeps };
}

beforeEach(() => {
  trailMock.reset();
});

afterAll(() => {
  trailMock.restore();
});

describe('createUsageEventsPort', () => {
  it('looks up the events signed with each key over the window, by AccessKeyId', async () => {
    const { usageEvents } = port();
    trailMock
      .on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: OLD }] })
      .resolves({ Events: [entry(OLD, 5), entry(OLD, 10, '203.0.113.9')] });

    const evidence = await usageEvents.usage(
      [{ accessKeyId: OLD, regions: ['us-east-1'] }],
      usageWindow(NOW),
    );

    const input = trailMock.commandCalls(LookupEventsCommand)[0]?.args[0].input;
    expect(input).toEqual({
      LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: OLD }],
      StartTime: new Date('2026-05-25T12:00:00.000Z'),
      EndTime: NOW,
      MaxResults: 50,
    });
    expect(evidence.keys[0]).toMatchObject({
      accessKeyId: OLD,
      status: 'complete',
      calls: 2,
      sourceIps: [
        { value: '198.51.100.10', count: 1 },
        { value: '203.0.113.9', count: 1 },
      ],
    });
  });

  it('reads at most 2 pages per key and region, and says the summary was cut off', async () => {
    const { usageEvents } = port();
    trailMock.on(LookupEventsCommand).resolves({ Events: [entry(OLD, 1)], NextToken: 'more' });

    const evidence = await usageEvents.usage(
      [{ accessKeyId: OLD, regions: ['us-east-1', 'eu-west-1'] }],
      usageWindow(NOW),
    );

    expect(trailMock.commandCalls(LookupEventsCommand)).toHaveLength(4);
    expect(evidence.keys[0]).toMatchObject({ status: 'cut-off', calls: 4 });
    expect(evidence.keys[0]?.gaps).toEqual([
      'us-east-1: more events than the 2 pages read',
      'eu-west-1: more events than the 2 pages read',
    ]);
  });

  it('paces requests to one region: no second holds more than 2', async () => {
    const { usageEvents, sleeps } = port();
    trailMock.on(LookupEventsCommand).resolves({ Events: [entry(OLD, 1)], NextToken: 'more' });

    await usageEvents.usage(
      [
        { accessKeyId: OLD, regions: ['us-east-1'] },
        { accessKeyId: NEW, regions: ['us-east-1'] },
      ],
      usageWindow(NOW),
    );

    expect(trailMock.commandCalls(LookupEventsCommand)).toHaveLength(4);
    // Two at once, then the next two a second later (time moves only when the port sleeps).
    expect(sleeps).toEqual([1_000]);
  });

  it('paces each region on its own: one request to each of two regions waits for nothing', async () => {
    const { usageEvents, sleeps } = port();
    trailMock.on(LookupEventsCommand).resolves({ Events: [entry(OLD, 1)] });

    await usageEvents.usage([{ accessKeyId: OLD, regions: ['us-east-1', 'eu-west-1'] }], usageWindow(NOW));

    expect(trailMock.commandCalls(LookupEventsCommand)).toHaveLength(2);
    expect(sleeps).toEqual([]);
  });

  it('stops at the run budget rather than throttle the account', async () => {
    const { usageEvents } = port({ requestBudget: 3 });
    trailMock.on(LookupEventsCommand).resolves({ Events: [entry(OLD, 1)], NextToken: 'more' });

    const evidence = await usageEvents.usage(
      [
        { accessKeyId: OLD, regions: ['us-east-1'] },
        { accessKeyId: NEW, regions: ['us-east-1'] },
      ],
      usageWindow(NOW),
    );

    expect(trailMock.commandCalls(LookupEventsCommand)).toHaveLength(3);
    expect(evidence.keys.map((usage) => usage.status)).toEqual(['cut-off', 'cut-off']);
    expect(evidence.keys.flatMap((usage) => usage.gaps)).toContain(
      "us-east-1: this run's LookupEvents budget was spent",
    );
  });

  it.each([
    {
      case: 'AccessDenied',
      error: Object.assign(new Error('not authorized to perform cloudtrail:LookupEvents'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 400 },
      }),
      gap: 'us-east-1: AccessDeniedException: not authorized to perform cloudtrail:LookupEvents',
      calls: 1,
    },
    {
      case: 'throttling',
      error: Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
      }),
      gap: 'us-east-1: CloudTrail throttled LookupEvents, stopped rather than retry',
      calls: 1,
    },
  ])('never throws on $case: the evidence says why it is missing', async ({ error, gap, calls }) => {
    const { usageEvents } = port();
    trailMock.on(LookupEventsCommand).rejects(error);

    const evidence = await usageEvents.usage(
      [{ accessKeyId: OLD, regions: ['us-east-1'] }],
      usageWindow(NOW),
    );

    expect(trailMock.commandCalls(LookupEventsCommand)).toHaveLength(calls);
    expect(evidence.keys[0]?.status).toBe('unavailable');
    expect(evidence.keys[0]?.gaps).toEqual([gap]);
  });

  it('keeps what the first page showed when the second fails', async () => {
    const { usageEvents } = port();
    trailMock
      .on(LookupEventsCommand)
      .resolvesOnce({ Events: [entry(OLD, 1)], NextToken: 'more' })
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }));

    const evidence = await usageEvents.usage(
      [{ accessKeyId: OLD, regions: ['us-east-1'] }],
      usageWindow(NOW),
    );

    expect(evidence.keys[0]).toMatchObject({ status: 'cut-off', calls: 1 });
  });
});
