/** The usage evidence summary: which records count, what is kept, and when a summary is complete. */

import { describe, expect, it } from 'vitest';
import {
  describeUsageLine,
  describeUsageSources,
  parseUsageRecord,
  type RegionRead,
  summariseUsage,
  topValues,
  type UsageRecord,
  usageRegionsFor,
  usageUnavailable,
  usageWindow,
} from '../../functions/core/usage-evidence.ts';
import { key, NOW } from './builders.ts';

const KEY = 'AKIAOLD0000000000001';

const record = (overrides: Record<string, unknown> = {}): string =>
  JSON.stringify({
    eventVersion: '1.09',
    userIdentity: { type: 'IAMUser', accessKeyId: KEY, arn: 'arn:aws:iam::123456789012:user/alice' },
    eventTime: '2026-05-31T10:00:00Z',
    eventSource: 'sts.amazonaws.com',
    eventName: 'GetCallerIdentity',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.10',
    userAgent: 'app/1.0 aws-sdk-java/2.20',
    eventCategory: 'Management',
    ...overrides,
  });

const used = (at: string, ip: string, agent = 'app/1.0', source = 'sts.amazonaws.com'): UsageRecord => ({
  eventTime: new Date(at),
  sourceIp: ip,
  userAgent: agent,
  eventSource: source,
});

describe('parseUsageRecord', () => {
  it.each([
    { case: 'a call signed with the key', raw: record(), counted: true },
    {
      case: 'a call signed with another key',
      raw: record({ userIdentity: { accessKeyId: 'AKIAOTHER00000000001' } }),
      counted: false,
    },
    { case: 'a record without a time', raw: record({ eventTime: 'yesterday' }), counted: false },
    { case: 'a record that is not JSON', raw: '{not json', counted: false },
    { case: 'no record at all', raw: undefined, counted: false },
  ])('counts $case: $counted', ({ raw, counted }) => {
    expect(parseUsageRecord(raw, KEY) !== undefined).toBe(counted);
  });

  it('keeps the time, event source, source IP and user agent', () => {
    expect(parseUsageRecord(record(), KEY)).toEqual({
      eventTime: new Date('2026-05-31T10:00:00Z'),
      eventSource: 'sts.amazonaws.com',
      sourceIp: '198.51.100.10',
      userAgent: 'app/1.0 aws-sdk-java/2.20',
    });
  });

  it('names a missing attribute unknown rather than dropping the call', () => {
    const parsed = parseUsageRecord(record({ sourceIPAddress: '', userAgent: undefined }), KEY);
    expect(parsed).toMatchObject({ sourceIp: 'unknown', userAgent: 'unknown' });
  });
});

describe('usageRegionsFor', () => {
  it.each([
    { case: 'a key last used in another region', region: 'eu-west-1', regions: ['us-east-1', 'eu-west-1'] },
    { case: 'a key last used in the home region', region: 'us-east-1', regions: ['us-east-1'] },
    { case: 'a key never used ("N/A")', region: 'N/A', regions: ['us-east-1'] },
    { case: 'a key whose last use is not read', region: undefined, regions: ['us-east-1'] },
  ])('looks in $regions for $case', ({ region, regions }) => {
    const read =
      region === undefined
        ? key(KEY, '2026-01-01T00:00:00Z')
        : key(KEY, '2026-01-01T00:00:00Z', { lastUsed: '2026-05-31T00:00:00Z', region });
    expect(usageRegionsFor(read, 'us-east-1')).toEqual(regions);
  });
});

describe('usageWindow', () => {
  it('covers the last 7 days', () => {
    expect(usageWindow(NOW)).toEqual({ start: new Date('2026-05-25T12:00:00.000Z'), end: NOW });
  });
});

describe('topValues', () => {
  it('keeps the 5 most frequent, most frequent first, ties by value', () => {
    const values = ['f', 'a', 'b', 'b', 'c', 'c', 'c', 'd', 'e', 'g'];
    expect(topValues(values)).toEqual([
      { value: 'c', count: 3 },
      { value: 'b', count: 2 },
      { value: 'a', count: 1 },
      { value: 'd', count: 1 },
      { value: 'e', count: 1 },
    ]);
  });
});

describe('summariseUsage', () => {
  const home: RegionRead = {
    region: 'us-east-1',
    pages: 1,
    records: [
      used('2026-05-30T08:00:00Z', '198.51.100.10'),
      used('2026-05-31T09:00:00Z', '198.51.100.10', 'app/1.0', 'ec2.amazonaws.com'),
    ],
  };
  const away: RegionRead = {
    region: 'eu-west-1',
    pages: 1,
    records: [used('2026-05-29T07:00:00Z', '203.0.113.5', 'terraform/1.7')],
  };

  it.each<{ case: string; reads: RegionRead[]; status: string; gaps: string[] }>([
    { case: 'every page of every region read', reads: [home, away], status: 'complete', gaps: [] },
    {
      case: 'a region with more pages than the bound',
      reads: [home, { ...away, pages: 2, stopped: { kind: 'page-limit', pages: 2 } }],
      status: 'cut-off',
      gaps: ['eu-west-1: more events than the 2 pages read'],
    },
    {
      case: 'a region that throttled',
      reads: [home, { ...away, stopped: { kind: 'throttled' } }],
      status: 'cut-off',
      gaps: ['eu-west-1: CloudTrail throttled LookupEvents, stopped rather than retry'],
    },
    {
      case: "the run's budget spent",
      reads: [home, { ...away, records: [], pages: 0, stopped: { kind: 'budget' } }],
      status: 'cut-off',
      gaps: ["eu-west-1: this run's LookupEvents budget was spent"],
    },
    {
      case: 'one region failed, the other read',
      reads: [
        home,
        { region: 'eu-west-1', records: [], pages: 0, stopped: { kind: 'failed', code: 'X', message: 'y' } },
      ],
      status: 'cut-off',
      gaps: ['eu-west-1: X: y'],
    },
    {
      case: 'every region throttled before its first page',
      reads: [{ region: 'us-east-1', records: [], pages: 0, stopped: { kind: 'throttled' } }],
      status: 'unavailable',
      gaps: ['us-east-1: CloudTrail throttled LookupEvents, stopped rather than retry'],
    },
    {
      case: 'every region failed',
      reads: [
        {
          region: 'us-east-1',
          records: [],
          pages: 0,
          stopped: { kind: 'failed', code: 'AccessDeniedException', message: 'no' },
        },
      ],
      status: 'unavailable',
      gaps: ['us-east-1: AccessDeniedException: no'],
    },
  ])('is $status for $case', ({ reads, status, gaps }) => {
    const usage = summariseUsage(KEY, reads);
    expect(usage.status).toBe(status);
    expect(usage.gaps).toEqual(gaps);
  });

  it('counts the calls of every region, with first and last seen and the top values', () => {
    const usage = summariseUsage(KEY, [home, away]);
    expect(usage).toMatchObject({
      accessKeyId: KEY,
      regions: ['us-east-1', 'eu-west-1'],
      calls: 3,
      firstSeen: new Date('2026-05-29T07:00:00Z'),
      lastSeen: new Date('2026-05-31T09:00:00Z'),
      sourceIps: [
        { value: '198.51.100.10', count: 2 },
        { value: '203.0.113.5', count: 1 },
      ],
      userAgents: [
        { value: 'app/1.0', count: 2 },
        { value: 'terraform/1.7', count: 1 },
      ],
      eventSources: [
        { value: 'sts.amazonaws.com', count: 2 },
        { value: 'ec2.amazonaws.com', count: 1 },
      ],
    });
  });

  it('says a key with no event is idle in CloudTrail, not unknown', () => {
    const usage = summariseUsage(KEY, [{ region: 'us-east-1', records: [], pages: 1 }]);
    expect(usage).toMatchObject({ status: 'complete', calls: 0, firstSeen: undefined });
    expect(describeUsageLine(usage)).toBe(
      'no management event signed with it in us-east-1 over the last 7 days; complete',
    );
  });
});

describe('describing usage', () => {
  it('says calls, first and last seen, completeness and the sources', () => {
    const usage = summariseUsage(KEY, [
      {
        region: 'us-east-1',
        pages: 2,
        records: [used('2026-05-31T09:00:00Z', '198.51.100.10')],
        stopped: { kind: 'page-limit', pages: 2 },
      },
    ]);
    expect(describeUsageLine(usage)).toBe(
      '1 management event in us-east-1 over the last 7 days, first 2026-05-31T09:00:00.000Z, last 2026-05-31T09:00:00.000Z; cut off (us-east-1: more events than the 2 pages read)',
    );
    expect(describeUsageSources(usage)).toBe(
      'source IPs: 198.51.100.10 (1); user agents: app/1.0 (1); event sources: sts.amazonaws.com (1)',
    );
  });

  it('says why evidence is unavailable', () => {
    const evidence = usageUnavailable(
      [{ accessKeyId: KEY, regions: ['us-east-1'] }],
      usageWindow(NOW),
      'why',
    );
    expect(evidence.keys[0]?.status).toBe('unavailable');
    expect(describeUsageLine(evidence.keys[0] as never)).toBe('usage evidence unavailable (why)');
  });
});
