import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type KeyStatusChange,
  keyStatusChangeOf,
  proveDeactivation,
} from '../../functions/core/key-deactivation.ts';
import type { AccessKey } from '../../functions/core/types.ts';
import { OLD_KEY } from './builders.ts';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/cloudtrail/${name}`, import.meta.url), 'utf8'));

const RECORD = fixture('record-update-access-key-deactivate-assumed-role.json');
const DETECTOR = 'arn:aws:iam::123456789012:role/KeyWarden-DetectorRole';
const RESPONDER = 'arn:aws:iam::123456789012:role/IncidentResponder';

describe('keyStatusChangeOf', () => {
  it('reads the key, status and calling role of an UpdateAccessKey record', () => {
    expect(keyStatusChangeOf(RECORD, 'AKIAXXXXXXXXXXXXXXXX')).toEqual({
      eventId: '9e8d7c6b-5a49-4838-a726-15f4e3d2c1b0',
      eventTime: '2026-09-11T06:45:24Z',
      accessKeyId: 'AKIAXXXXXXXXXXXXXXXX',
      status: 'Inactive',
      userName: 'test-containment-target',
      actorArn: 'arn:aws:sts::123456789012:assumed-role/KeyWarden-DetectorRole/keywarden-detector',
      principalArn: DETECTOR,
      errorCode: undefined,
    });
  });

  it('takes the role from sessionContext.sessionIssuer, never from the user agent', () => {
    const claimed = { ...RECORD, userAgent: `keywarden/0.1.0 ${DETECTOR}` };
    const responder = fixture('record-update-access-key-assumed-role-excerpt.json');
    expect(
      keyStatusChangeOf({ ...claimed, userIdentity: responder.userIdentity }, 'AKIAXXXXXXXXXXXXXXXX'),
    ).toMatchObject({ principalArn: 'arn:aws:iam::333333333333:role/SecurityOpsContainmentRole' });
  });

  it('reads an IAM user as its own ARN', () => {
    const identity = fixture('user-identity-variants.json').IAMUser;
    expect(keyStatusChangeOf({ ...RECORD, userIdentity: identity }, 'AKIAXXXXXXXXXXXXXXXX')).toMatchObject({
      actorArn: 'arn:aws:iam::123456789012:user/Alice',
      principalArn: 'arn:aws:iam::123456789012:user/Alice',
    });
  });

  it.each([
    { case: 'another key', record: RECORD, key: 'AKIAOTHER00000000000' },
    {
      case: 'another event',
      record: { ...RECORD, eventName: 'DeleteAccessKey' },
      key: 'AKIAXXXXXXXXXXXXXXXX',
    },
    {
      case: 'another service',
      record: { ...RECORD, eventSource: 'sts.amazonaws.com' },
      key: 'AKIAXXXXXXXXXXXXXXXX',
    },
    { case: 'a denied call', record: { ...RECORD, requestParameters: null }, key: 'AKIAXXXXXXXXXXXXXXXX' },
    { case: 'not a record', record: 'UpdateAccessKey', key: 'AKIAXXXXXXXXXXXXXXXX' },
  ])('ignores $case', ({ record, key }) => {
    expect(keyStatusChangeOf(record, key)).toBeUndefined();
  });
});

describe('proveDeactivation', () => {
  const inactive: AccessKey = { ...OLD_KEY, status: 'Inactive' };
  const change = (overrides: Partial<KeyStatusChange> = {}): KeyStatusChange => ({
    eventId: 'e',
    eventTime: '2026-05-30T10:00:00Z',
    accessKeyId: OLD_KEY.accessKeyId,
    status: 'Inactive',
    userName: 'alice',
    actorArn: 'arn:aws:sts::123456789012:assumed-role/KeyWarden-DetectorRole/keywarden-detector',
    principalArn: DETECTOR,
    errorCode: undefined,
    ...overrides,
  });
  const byResponder = change({
    actorArn: 'arn:aws:sts::123456789012:assumed-role/IncidentResponder/jane',
    principalArn: RESPONDER,
  });
  const search = { region: 'us-east-1', complete: true, eventsRead: 10 };
  const prove = (key: AccessKey, changes: KeyStatusChange[], roles = [DETECTOR], complete = true) =>
    proveDeactivation({ key, changes, search: { ...search, complete }, keywardenRoles: roles });

  it.each<{ case: string; key: AccessKey; changes: KeyStatusChange[]; roles?: string[]; reason: RegExp }>([
    {
      case: 'a key switched off by an incident responder',
      key: inactive,
      changes: [byResponder],
      reason:
        /switched off by arn:aws:iam::123456789012:role\/IncidentResponder \(session jane\) at .*not one of KeyWarden's roles/,
    },
    {
      case: 'a key KeyWarden switched off, then someone switched on and a responder off again',
      key: inactive,
      changes: [byResponder, change({ status: 'Active', principalArn: RESPONDER }), change()],
      reason: /IncidentResponder/,
    },
    {
      case: 'a key KeyWarden switched off and someone switched on since (IAM not yet showing it)',
      key: inactive,
      changes: [
        change({
          status: 'Active',
          actorArn: 'arn:aws:iam::123456789012:user/bob',
          principalArn: 'arn:aws:iam::123456789012:user/bob',
        }),
        change(),
      ],
      reason: /last set Active by arn:aws:iam::123456789012:user\/bob/,
    },
    {
      case: 'a key IAM lists as Active',
      key: OLD_KEY,
      changes: [change()],
      reason: /IAM lists AKIAOLD0000000000001 as Active, not Inactive/,
    },
    {
      case: 'no deactivation in CloudTrail',
      key: inactive,
      changes: [],
      reason:
        /CloudTrail shows no UpdateAccessKey of AKIAOLD0000000000001 in the last 90 days \(LookupEvents in us-east-1\)/,
    },
    {
      case: 'only a failed deactivation by KeyWarden',
      key: inactive,
      changes: [change({ errorCode: 'AccessDenied' })],
      reason: /CloudTrail shows no UpdateAccessKey/,
    },
    {
      case: "KeyWarden's roles unknown",
      key: inactive,
      changes: [change()],
      roles: [],
      reason: /KeyWarden's roles are not known.*--keywarden-roles/,
    },
    {
      case: 'a role whose name only resembles KeyWarden’s (another account)',
      key: inactive,
      changes: [change({ principalArn: 'arn:aws:iam::999999999999:role/KeyWarden-DetectorRole' })],
      reason: /not one of KeyWarden's roles/,
    },
  ])('does not prove $case', ({ key, changes, roles, reason }) => {
    const proof = prove(key, changes, roles);
    expect(proof.kind).toBe('unproven');
    expect(proof.kind === 'unproven' && proof.reason).toMatch(reason);
  });

  it.each<{ case: string; changes: KeyStatusChange[] }>([
    { case: 'a deactivation by KeyWarden’s detector role', changes: [change()] },
    {
      case: 'the newest deactivation, by KeyWarden, after an older one by a responder',
      changes: [change(), change({ status: 'Active' }), byResponder],
    },
    {
      case: 'a deactivation by KeyWarden after a failed call',
      changes: [change({ errorCode: 'Throttling', principalArn: RESPONDER }), change()],
    },
  ])('proves $case', ({ changes }) => {
    expect(prove(inactive, changes)).toEqual({
      kind: 'proven',
      deactivation: {
        by: `${DETECTOR} (session keywarden-detector)`,
        at: '2026-05-30T10:00:00Z',
      },
    });
  });

  it('names who last switched the key off when it cannot prove it was KeyWarden', () => {
    expect(prove(OLD_KEY, [byResponder])).toMatchObject({
      kind: 'unproven',
      deactivation: { by: `${RESPONDER} (session jane)`, at: '2026-05-30T10:00:00Z' },
    });
  });

  it('says the search stopped at its bound when it did not reach the oldest event', () => {
    const proof = prove(inactive, [], [DETECTOR], false);
    expect(proof.kind === 'unproven' && proof.reason).toMatch(/in the 10 newest UpdateAccessKey events/);
  });
});
