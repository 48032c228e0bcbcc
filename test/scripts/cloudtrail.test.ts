import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isOwnCall, parseKeyEvent } from '../../functions/core/event.ts';
import {
  cloudTrailRecord,
  displayDate,
  type KeyCall,
  keyEventEnvelope,
  putEventsEntry,
} from '../../scripts/lib/cloudtrail.ts';

const ACCOUNT = '123456789012';
const capture = JSON.parse(
  readFileSync(
    new URL('../fixtures/cloudtrail/eventbridge-create-access-key-iam-user.json', import.meta.url),
    'utf8',
  ),
) as { detail: Record<string, unknown> };

const call = (overrides: Partial<KeyCall> = {}): KeyCall => ({
  eventName: 'CreateAccessKey',
  userName: 'alice',
  accessKeyId: 'AKIAALICE00000000002',
  accountId: ACCOUNT,
  region: 'us-east-1',
  actorUserName: 'admin',
  eventTime: new Date('2024-07-30T21:53:13.456Z'),
  eventId: 'c64c4ded-ef03-4e5c-81eb-153b118d72f2',
  ...overrides,
});

describe('displayDate', () => {
  it.each([
    { iso: '2024-07-30T21:53:13Z', expected: 'Jul 30, 2024 9:53:13 PM' },
    { iso: '2024-01-05T00:07:09Z', expected: 'Jan 5, 2024 12:07:09 AM' },
    { iso: '2024-12-31T12:00:00Z', expected: 'Dec 31, 2024 12:00:00 PM' },
  ])('renders $iso as CloudTrail does: $expected', ({ iso, expected }) => {
    expect(displayDate(new Date(iso))).toBe(expected);
  });
});

describe('cloudTrailRecord', () => {
  it('has the same fields as the real CreateAccessKey capture', () => {
    expect(Object.keys(cloudTrailRecord(call())).sort()).toEqual(
      Object.keys(capture.detail)
        .filter((key) => key !== 'tlsDetails')
        .sort(),
    );
  });

  it('records a refused call with its error and no response', () => {
    const record = cloudTrailRecord(call({ error: { code: 'LimitExceeded', message: 'quota' } }));

    expect(record).toMatchObject({
      errorCode: 'LimitExceeded',
      errorMessage: 'quota',
      responseElements: null,
    });
  });
});

describe('keyEventEnvelope', () => {
  it.each([
    { name: 'CreateAccessKey', call: call() },
    { name: 'UpdateAccessKey', call: call({ eventName: 'UpdateAccessKey', status: 'Inactive' }) },
    { name: 'DeleteAccessKey', call: call({ eventName: 'DeleteAccessKey' }) },
  ])('is read by the detector as a $name of the target user and key', ({ name, call: keyCall }) => {
    expect(parseKeyEvent(keyEventEnvelope(keyCall, 'event-1'))).toMatchObject({
      kind: 'target',
      userName: 'alice',
      trigger: { eventName: name, accessKeyId: 'AKIAALICE00000000002', eventId: keyCall.eventId },
    });
  });

  it.each([
    {
      name: 'a refused call',
      call: call({ error: { code: 'LimitExceeded', message: 'quota' } }),
      reason: 'failed-call',
    },
  ])('is skipped by the detector for $name', ({ call: keyCall, reason }) => {
    expect(parseKeyEvent(keyEventEnvelope(keyCall, 'event-1'))).toMatchObject({
      kind: 'skip',
      reason,
    });
  });

  it("names the role behind a role session, which is how KeyWarden's own calls are recognised", () => {
    const role = `arn:aws:iam::${ACCOUNT}:role/keywarden-detector`;
    const parsed = parseKeyEvent(
      keyEventEnvelope(
        call({
          eventName: 'UpdateAccessKey',
          status: 'Inactive',
          actorUserName: 'keywarden',
          actorRoleArn: role,
        }),
        'event-1',
      ),
    );
    expect(parsed).toMatchObject({
      kind: 'target',
      trigger: { actorType: 'AssumedRole', actorIssuerArn: role },
    });
    if (parsed.kind === 'target') expect(isOwnCall(parsed.trigger, [role])).toBe(true);
  });
});

describe('putEventsEntry', () => {
  it('carries the CloudTrail record as the detail of an aws.iam event on the given bus', () => {
    const entry = putEventsEntry(call(), 'demo-bus');

    expect(entry).toMatchObject({
      EventBusName: 'demo-bus',
      Source: 'aws.iam',
      DetailType: 'AWS API Call via CloudTrail',
    });
    expect(JSON.parse(entry.Detail)).toEqual(cloudTrailRecord(call()));
  });
});
