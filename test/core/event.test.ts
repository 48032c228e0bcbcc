import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clip,
  isOwnCall,
  type KeyEventTarget,
  outOfScopeTagChange,
  parseKeyEvent,
} from '../../functions/core/event.ts';
import { InvalidEventError } from '../../functions/shared/errors.ts';

type Json = Record<string, unknown>;

const ACCOUNT_ID = '123456789012';
const SDK_USER_AGENT =
  'aws-sdk-js/3.1169.0 ua/2.1 os/linux#5.10 lang/js md/nodejs#22.11.0 api/iam#3.1169.0 m/E,N keywarden/0.1.0';

function fixture(name: string): Json {
  return JSON.parse(
    readFileSync(new URL(`../fixtures/cloudtrail/${name}.json`, import.meta.url), 'utf8'),
  ) as Json;
}

/** Wraps a CloudTrail record into the EventBridge envelope, for the account the record names. */
function envelope(record: Json, account = String(record.recipientAccountId ?? ACCOUNT_ID)): Json {
  return {
    version: '0',
    id: '00000000-0000-4000-8000-000000000099',
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.iam',
    account,
    time: '2026-06-01T12:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: record,
  };
}

const IDENTITIES = fixture('user-identity-variants');
const IAM_USER = IDENTITIES.IAMUser as Json;
const ASSUMED_ROLE = IDENTITIES.AssumedRole as Json;
const ROOT = IDENTITIES.Root as Json;

/** A successful key call in ACCOUNT_ID; `record` overrides the CloudTrail fields. */
function keyEvent(record: Json = {}): Json {
  return envelope({
    eventVersion: '1.09',
    eventTime: '2026-06-01T11:59:58Z',
    eventSource: 'iam.amazonaws.com',
    eventName: 'CreateAccessKey',
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.7',
    userAgent: 'aws-cli/2.15.0',
    userIdentity: IAM_USER,
    requestParameters: { userName: 'bob' },
    responseElements: {
      accessKey: { accessKeyId: 'AKIANEW0000000000002', status: 'Active', userName: 'bob', createDate: 'x' },
    },
    eventID: 'ev-1',
    recipientAccountId: ACCOUNT_ID,
    ...record,
  });
}

function target(event: unknown): KeyEventTarget {
  const parsed = parseKeyEvent(event);
  if (parsed.kind !== 'target')
    throw new Error(`expected a target, got skip ${parsed.reason}: ${parsed.detail}`);
  return parsed;
}

function skipReason(event: unknown): string {
  const parsed = parseKeyEvent(event);
  if (parsed.kind === 'skip') return parsed.reason;
  // The account is spelled out only when it is not ACCOUNT_ID.
  return `target:${parsed.userName}${parsed.accountId === ACCOUNT_ID ? '' : `@${parsed.accountId}`}`;
}

describe('parseKeyEvent', () => {
  describe('target user', () => {
    it.each([
      {
        case: 'requestParameters.userName first',
        record: { requestParameters: { userName: 'bob' } },
        expected: 'bob',
      },
      {
        case: 'requestParameters.userName over the response and the caller',
        record: {
          requestParameters: { userName: 'bob' },
          responseElements: { accessKey: { accessKeyId: 'AKIA1', userName: 'carol' } },
        },
        expected: 'bob',
      },
      {
        case: 'responseElements.accessKey.userName when the request names nobody',
        record: {
          requestParameters: null,
          responseElements: { accessKey: { accessKeyId: 'AKIA1', userName: 'carol' } },
        },
        expected: 'carol',
      },
      {
        case: 'the IAM user caller when neither names anybody',
        record: { requestParameters: {}, responseElements: null },
        expected: 'Alice',
      },
      {
        case: 'the IAM user caller for an UpdateAccessKey without userName',
        record: {
          eventName: 'UpdateAccessKey',
          requestParameters: { accessKeyId: 'AKIA1', status: 'Active' },
          responseElements: null,
        },
        expected: 'Alice',
      },
      {
        case: 'a name using every allowed special character',
        record: { requestParameters: { userName: 'a+b=c,d.e@f_g-h' } },
        expected: 'a+b=c,d.e@f_g-h',
      },
    ])('resolves $case', ({ record, expected }) => {
      expect(target(keyEvent(record)).userName).toBe(expected);
    });

    it.each([
      { case: 'an assumed role', identity: ASSUMED_ROLE, expected: 'no-target-user' },
      { case: 'an IAM user', identity: IAM_USER, expected: 'target:Alice' },
      { case: 'root', identity: ROOT, expected: 'root-credentials' },
    ])('falls back to the caller only when it is an IAM user: $case', ({ identity, expected }) => {
      const event = keyEvent({ userIdentity: identity, requestParameters: null, responseElements: null });
      expect(skipReason(event)).toBe(expected);
    });

    it('reads the EventBridge fixture: the target is the user in the request, not the caller', () => {
      const event = fixture('eventbridge-create-access-key-iam-user');
      const parsed = target(event);
      expect(parsed.accountId).toBe('946986569305');
      expect(parsed.userName).toBe('stratus-red-team-backdoor-u-user');
      expect(parsed.trigger).toEqual({
        kind: 'event',
        eventName: 'CreateAccessKey',
        eventId: 'c64c4ded-ef03-4e5c-81eb-153b118d72f2',
        eventTime: '2024-07-30T21:53:13Z',
        actorArn: 'arn:aws:iam::946986569305:user/christophe',
        actorType: 'IAMUser',
        actorIssuerArn: '',
        actorUserName: 'christophe',
        actorAccountId: '946986569305',
        actorMfa: undefined,
        sourceIp: '211.9.016.253',
        userAgent: 'stratus-red-team_f3f19dcd-8552-47ca-a01e-0e1f5578d15e',
        accessKeyId: 'AKIAL80DWDVKKM0UXEER',
      });
      expect(parsed.expectation).toEqual({ accessKeyId: 'AKIAL80DWDVKKM0UXEER', state: 'present' });
    });

    it.each([
      {
        case: 'an IAM user',
        identity: IAM_USER,
        expected: { actorType: 'IAMUser', actorIssuerArn: '', actorUserName: 'Alice', actorMfa: undefined },
      },
      {
        case: 'an assumed role',
        identity: ASSUMED_ROLE,
        expected: {
          actorType: 'AssumedRole',
          actorIssuerArn: 'arn:aws:iam::123456789012:role/RoleToBeAssumed',
          actorUserName: '',
          actorMfa: false,
        },
      },
      {
        case: 'root',
        identity: ROOT,
        expected: { actorType: 'Root', actorIssuerArn: '', actorUserName: '', actorMfa: true },
      },
    ])('names the caller from userIdentity: $case', ({ identity, expected }) => {
      const event = keyEvent({ userIdentity: identity, requestParameters: { userName: 'target-user' } });
      const parsed = target(event);
      expect(parsed.trigger).toMatchObject({
        ...expected,
        actorArn: identity.arn,
        actorAccountId: '123456789012',
      });
    });

    it('reads the record of a key created for another user', () => {
      const record = fixture('record-create-access-key-for-other-user');
      // The documentation's sample names a 9-digit account, which no real event carries.
      expect(skipReason(envelope(record))).toBe('invalid-account');
      expect(target(envelope({ ...record, recipientAccountId: ACCOUNT_ID })).userName).toBe('user2');
    });
  });

  describe('skips', () => {
    const limitExceeded = fixture('record-create-access-key-error-limit-exceeded');
    const { errorCode: _code, errorMessage: _message, ...succeeded } = limitExceeded;
    const rootSelf = fixture('record-create-access-key-root-self');
    const ownDeactivation = {
      eventName: 'UpdateAccessKey',
      userAgent: SDK_USER_AGENT,
      userIdentity: ASSUMED_ROLE,
      requestParameters: { userName: 'bob', accessKeyId: 'AKIAOLD0000000000001', status: 'Inactive' },
      responseElements: null,
    };

    // Each skipped event sits beside its twin that is acted on.
    it.each([
      { case: 'a failed call', event: envelope(limitExceeded), expected: 'failed-call' },
      { case: 'the same call succeeding', event: envelope(succeeded), expected: 'target:some_iam_user' },
      { case: 'root creating its own key', event: envelope(rootSelf), expected: 'root-credentials' },
      {
        case: 'root creating a key for a user',
        event: envelope({ ...rootSelf, requestParameters: { userName: 'bob' } }),
        expected: 'target:bob',
      },
      {
        case: 'an envelope naming another account than the record',
        event: { ...keyEvent({}), account: '210987654321' },
        expected: 'account-mismatch',
      },
      {
        case: 'a record naming another recipient than the envelope',
        event: { ...keyEvent({ recipientAccountId: '210987654321' }), account: ACCOUNT_ID },
        expected: 'account-mismatch',
      },
      {
        case: 'another account named by both (a member event forwarded to a central bus)',
        event: keyEvent({ recipientAccountId: '210987654321' }),
        expected: 'target:bob@210987654321',
      },
      { case: 'the account named by both', event: keyEvent({}), expected: 'target:bob' },
      {
        case: 'an account id that is not 12 digits',
        event: keyEvent({ recipientAccountId: '21098765432x' }),
        expected: 'invalid-account',
      },
      {
        case: 'only the envelope account, not 12 digits',
        event: (() => {
          const { recipientAccountId: _r, ...record } = keyEvent({}).detail as Json;
          return envelope(record, '1234');
        })(),
        expected: 'invalid-account',
      },
      {
        case: 'only the envelope account, 12 digits',
        event: (() => {
          const { recipientAccountId: _r, ...record } = keyEvent({}).detail as Json;
          return envelope(record, '210987654321');
        })(),
        expected: 'target:bob@210987654321',
      },
      {
        case: 'only recipientAccountId, ours',
        event: (() => {
          const { account: _a, ...rest } = keyEvent({});
          return rest;
        })(),
        expected: 'target:bob',
      },
      {
        case: 'an event name out of scope',
        event: keyEvent({ eventName: 'CreateUser' }),
        expected: 'event-out-of-scope',
      },
      { case: 'CreateAccessKey', event: keyEvent({ eventName: 'CreateAccessKey' }), expected: 'target:bob' },
      {
        case: 'DeleteAccessKey',
        event: keyEvent({
          eventName: 'DeleteAccessKey',
          requestParameters: { userName: 'bob', accessKeyId: 'AKIA1' },
        }),
        expected: 'target:bob',
      },
      {
        case: 'a non-IAM source',
        event: { ...keyEvent({}), source: 'aws.sts' },
        expected: 'not-iam-api-call',
      },
      {
        case: 'a non-IAM event source',
        event: keyEvent({ eventSource: 'sts.amazonaws.com' }),
        expected: 'not-iam-api-call',
      },
      {
        case: 'a console sign-in detail type',
        event: { ...keyEvent({}), 'detail-type': 'AWS Console Sign In via CloudTrail' },
        expected: 'not-iam-api-call',
      },
      // A user agent is whatever the client sends: the parser never takes it for KeyWarden's own call.
      {
        case: 'a deactivation with our user agent',
        event: keyEvent(ownDeactivation),
        expected: 'target:bob',
      },
      {
        case: 'our user agent re-activating a key (never ours)',
        event: keyEvent({
          ...ownDeactivation,
          requestParameters: { ...ownDeactivation.requestParameters, status: 'Active' },
        }),
        expected: 'target:bob',
      },
      {
        case: 'a deactivation by another tool whose name ends in keywarden',
        event: keyEvent({ ...ownDeactivation, userAgent: 'aws-cli/2.15.0 notkeywarden/1.0' }),
        expected: 'target:bob',
      },
      {
        case: 'a deactivation whose user agent says keywarden without a version',
        event: keyEvent({ ...ownDeactivation, userAgent: 'keywarden' }),
        expected: 'target:bob',
      },
      {
        case: 'a deactivation by the CLI, which wrote no finding (keywarden-cli/)',
        event: keyEvent({
          ...ownDeactivation,
          userAgent: SDK_USER_AGENT.replace('keywarden/0.1.0', 'keywarden-cli/0.1.0'),
        }),
        expected: 'target:bob',
      },
      {
        case: 'a key created with our user agent',
        event: keyEvent({ userAgent: SDK_USER_AGENT }),
        expected: 'target:bob',
      },
    ])('$expected for $case', ({ event, expected }) => {
      expect(skipReason(event)).toBe(expected);
    });

    it('keeps the event id and a detail on every skip', () => {
      const parsed = parseKeyEvent(envelope(limitExceeded));
      expect(parsed).toEqual({
        kind: 'skip',
        reason: 'failed-call',
        detail: 'errorCode=LimitExceededException',
        eventId: 'efffffff-bbbb-4444-bbbb-ffffffffffff',
      });
    });
  });

  describe('malformed input', () => {
    const valid = keyEvent({});
    const withDetail = (detail: Json): Json => ({
      ...valid,
      detail: { ...(valid.detail as Json), ...detail },
    });

    it('accepts the well-formed event the malformed ones are derived from', () => {
      expect(target(valid).userName).toBe('bob');
    });

    it.each([
      { case: 'null', event: null, message: 'event must be an object, got null' },
      { case: 'undefined', event: undefined, message: 'got undefined' },
      { case: 'a number', event: 42, message: 'got number' },
      { case: 'a string', event: JSON.stringify(valid), message: 'got string' },
      { case: 'an array', event: [valid], message: 'got array' },
      { case: 'an empty object', event: {}, message: 'event.detail is missing' },
      {
        case: 'detail as an array',
        event: { ...valid, detail: [] },
        message: 'event.detail must be an object',
      },
      {
        case: 'detail as a string',
        event: { ...valid, detail: '{}' },
        message: 'event.detail must be an object',
      },
      {
        case: 'source as a number',
        event: { ...valid, source: 7 },
        message: 'event.source must be a string',
      },
      { case: 'account as a number', event: { ...valid, account: 123456789012 }, message: 'event.account' },
      {
        case: 'no account anywhere',
        event: (() => {
          const { account: _a, ...rest } = withDetail({ recipientAccountId: undefined });
          return rest;
        })(),
        message: 'both missing',
      },
      {
        case: 'eventName missing',
        event: withDetail({ eventName: undefined }),
        message: 'detail.eventName is missing',
      },
      {
        case: 'eventName as an array',
        event: withDetail({ eventName: ['CreateAccessKey'] }),
        message: 'got array',
      },
      {
        case: 'userIdentity missing',
        event: withDetail({ userIdentity: undefined }),
        message: 'userIdentity is missing',
      },
      {
        case: 'userIdentity as an array',
        event: withDetail({ userIdentity: [] }),
        message: 'userIdentity must be an object',
      },
      {
        case: 'userIdentity.type as an object',
        event: withDetail({ userIdentity: { type: {} } }),
        message: 'type must be a string',
      },
      {
        case: 'requestParameters as a string',
        event: withDetail({ requestParameters: 'bob' }),
        message: 'requestParameters',
      },
      {
        case: 'userName as a number',
        event: withDetail({ requestParameters: { userName: 5 } }),
        message: 'userName must be a string',
      },
      {
        case: 'responseElements.accessKey as an array',
        event: withDetail({ requestParameters: null, responseElements: { accessKey: [] } }),
        message: 'accessKey must be an object',
      },
      {
        case: 'a user name with a space',
        event: withDetail({ requestParameters: { userName: 'bad name' } }),
        message: 'not a valid IAM user name',
      },
      {
        case: 'a user name of 65 characters',
        event: withDetail({ requestParameters: { userName: 'a'.repeat(65) } }),
        message: 'not a valid IAM user name',
      },
      {
        case: 'an empty user name',
        event: withDetail({ requestParameters: { userName: '' } }),
        message: 'not a valid',
      },
      { case: 'userAgent as a number', event: withDetail({ userAgent: 1 }), message: 'detail.userAgent' },
    ])('throws InvalidEventError for $case', ({ event, message }) => {
      expect(() => parseKeyEvent(event)).toThrow(InvalidEventError);
      expect(() => parseKeyEvent(event)).toThrow(message);
    });

    it('accepts a user name of exactly 64 characters', () => {
      expect(target(withDetail({ requestParameters: { userName: 'a'.repeat(64) } })).userName).toHaveLength(
        64,
      );
    });

    it('never throws anything but InvalidEventError, whatever the input', () => {
      const anyJson = fc.jsonValue({ maxDepth: 4 });
      // Mutations of a valid event: any field of detail replaced by any JSON value.
      const detailKeys = Object.keys(valid.detail as Json);
      const mutated = fc
        .record({ key: fc.constantFrom(...detailKeys, 'userIdentity', 'requestParameters'), value: anyJson })
        .map(({ key, value }) => withDetail({ [key]: value }));
      const nested = fc
        .record({ key: fc.constantFrom('userName', 'accessKeyId', 'status'), value: anyJson })
        .map(({ key, value }) => withDetail({ requestParameters: { [key]: value } }));
      fc.assert(
        fc.property(fc.oneof(anyJson, mutated, nested), (event) => {
          try {
            const parsed = parseKeyEvent(event);
            expect(['skip', 'target']).toContain(parsed.kind);
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidEventError);
          }
        }),
        { numRuns: 500 },
      );
    });
  });

  describe('expectation', () => {
    it.each([
      {
        case: 'a created key is expected to be listed',
        record: {},
        expected: { accessKeyId: 'AKIANEW0000000000002', state: 'present' },
      },
      {
        case: 'an activated key is expected Active',
        record: {
          eventName: 'UpdateAccessKey',
          requestParameters: { userName: 'bob', accessKeyId: 'AKIAOLD0000000000001', status: 'Active' },
        },
        expected: { accessKeyId: 'AKIAOLD0000000000001', state: 'Active' },
      },
      {
        case: 'a deactivated key is expected Inactive',
        record: {
          eventName: 'UpdateAccessKey',
          requestParameters: { userName: 'bob', accessKeyId: 'AKIAOLD0000000000001', status: 'Inactive' },
        },
        expected: { accessKeyId: 'AKIAOLD0000000000001', state: 'Inactive' },
      },
      {
        case: 'a deleted key is expected absent',
        record: {
          eventName: 'DeleteAccessKey',
          requestParameters: { userName: 'bob', accessKeyId: 'AKIAOLD0000000000001' },
        },
        expected: { accessKeyId: 'AKIAOLD0000000000001', state: 'absent' },
      },
      {
        case: 'an update without a known status expects nothing',
        record: {
          eventName: 'UpdateAccessKey',
          requestParameters: { userName: 'bob', accessKeyId: 'AKIAOLD0000000000001', status: 'Expired' },
        },
        expected: undefined,
      },
      {
        case: 'a malformed key id expects nothing',
        record: { responseElements: { accessKey: { accessKeyId: 'akia-not-a-key', userName: 'bob' } } },
        expected: undefined,
      },
      {
        case: 'a create without response elements expects nothing',
        record: { responseElements: null },
        expected: undefined,
      },
    ])('$case', ({ record, expected }) => {
      expect(target(keyEvent(record)).expectation).toEqual(expected);
    });

    it('drops a malformed key id from the trigger but keeps a valid one', () => {
      const malformed = keyEvent({
        responseElements: { accessKey: { accessKeyId: 'akia-x', userName: 'bob' } },
      });
      expect(target(malformed).trigger.accessKeyId).toBeUndefined();
      expect(target(keyEvent({})).trigger.accessKeyId).toBe('AKIANEW0000000000002');
    });
  });

  describe('untrusted text', () => {
    it('strips control characters and truncates long fields in the trigger', () => {
      const parsed = target(
        keyEvent({ userAgent: `evil\n\u0000agent${'x'.repeat(600)}`, sourceIPAddress: 'a\tb' }),
      );
      expect(parsed.trigger.userAgent).toHaveLength(512);
      expect(parsed.trigger.userAgent.startsWith('evil  agent')).toBe(true);
      expect(parsed.trigger.sourceIp).toBe('a b');
    });

    it.each([
      { text: undefined, max: 10, expected: '' },
      { text: 'short', max: 10, expected: 'short' },
      { text: 'exactly10!', max: 10, expected: 'exactly10!' },
      { text: 'eleven chars', max: 10, expected: 'eleven ch…' },
    ])('clips $text to $max characters', ({ text, max, expected }) => {
      expect(clip(text, max)).toBe(expected);
    });
  });

  describe('own calls', () => {
    const OWN_ROLE = 'arn:aws:iam::123456789012:role/KeyWarden-DetectorRole';
    const session = (issuer: string, type = 'AssumedRole') =>
      target(
        keyEvent({
          eventName: 'UpdateAccessKey',
          userAgent: SDK_USER_AGENT,
          userIdentity: {
            ...ASSUMED_ROLE,
            type,
            arn: 'arn:aws:sts::123456789012:assumed-role/KeyWarden-DetectorRole/keywarden-detector',
            sessionContext: { sessionIssuer: { type: 'Role', arn: issuer } },
          },
          requestParameters: { userName: 'bob', accessKeyId: 'AKIAOLD0000000000001', status: 'Inactive' },
        }),
      ).trigger;

    // Each own call beside a twin that only looks like one.
    it.each([
      { case: "a session of KeyWarden's role", trigger: session(OWN_ROLE), own: true },
      {
        case: 'a role of the same name in another account',
        trigger: session('arn:aws:iam::210987654321:role/KeyWarden-DetectorRole'),
        own: false,
      },
      {
        case: 'another role with our user agent',
        trigger: session('arn:aws:iam::123456789012:role/Other'),
        own: false,
      },
      {
        case: 'an IAM user with our user agent',
        trigger: target(keyEvent({ userAgent: SDK_USER_AGENT })).trigger,
        own: false,
      },
      { case: 'a federated user naming our role', trigger: session(OWN_ROLE, 'FederatedUser'), own: false },
    ])('is $own for $case', ({ trigger, own }) => {
      expect(isOwnCall(trigger, [OWN_ROLE])).toBe(own);
    });

    it('recognises nothing as its own when it knows no role of its own', () => {
      expect(isOwnCall(session(OWN_ROLE), [])).toBe(false);
    });
  });

  describe('tag changes', () => {
    const tagEvent = (eventName: string, requestParameters: Json) =>
      keyEvent({ eventName, requestParameters, responseElements: null });

    // Each tag change of the exemption beside its twin that changes another tag.
    it.each([
      {
        case: 'TagUser setting the exemption',
        event: tagEvent('TagUser', { userName: 'bob', tags: [{ key: 'keywarden:exempt', value: 'true' }] }),
        skipped: false,
      },
      {
        case: 'TagUser setting it in another case',
        event: tagEvent('TagUser', { userName: 'bob', tags: [{ key: 'KeyWarden:Exempt', value: 'true' }] }),
        skipped: false,
      },
      {
        case: 'TagUser setting another tag',
        event: tagEvent('TagUser', { userName: 'bob', tags: [{ key: 'team', value: 'data' }] }),
        skipped: true,
      },
      {
        case: 'UntagUser removing the exemption',
        event: tagEvent('UntagUser', { userName: 'bob', tagKeys: ['team', 'keywarden:exempt'] }),
        skipped: false,
      },
      {
        case: 'UntagUser removing another tag',
        event: tagEvent('UntagUser', { userName: 'bob', tagKeys: ['team'] }),
        skipped: true,
      },
    ])('$case: skipped $skipped', ({ event, skipped }) => {
      const parsed = target(event);
      expect(parsed.userName).toBe('bob');
      expect(parsed.expectation).toBeUndefined();
      const skip = outOfScopeTagChange(parsed, 'keywarden:exempt');
      expect(skip === undefined).toBe(!skipped);
      if (skip) expect(skip.reason).toBe('tag-out-of-scope');
    });

    it('keeps the value a TagUser set, and never touches a key event', () => {
      const parsed = target(
        tagEvent('TagUser', {
          userName: 'bob',
          tags: [{ key: 'keywarden:exempt', value: '2026-07-01T00:00:00Z' }],
        }),
      );
      expect(parsed.trigger.tagValues).toEqual({ 'keywarden:exempt': '2026-07-01T00:00:00Z' });
      expect(outOfScopeTagChange(target(keyEvent({})), 'keywarden:exempt')).toBeUndefined();
    });
  });

  describe('renames', () => {
    const updateUser = (requestParameters: Json | null, record: Json = {}) =>
      keyEvent({ eventName: 'UpdateUser', requestParameters, responseElements: null, ...record });

    // Each rename beside its twin that moves nothing.
    it.each([
      {
        case: 'UpdateUser with newUserName: the target is the new name',
        event: updateUser({ userName: 'bob', newUserName: 'robert' }),
        outcome: 'target:robert',
      },
      {
        case: 'UpdateUser with newUserName and newPath',
        event: updateUser({ userName: 'bob', newUserName: 'robert', newPath: '/eng/' }),
        outcome: 'target:robert',
      },
      {
        case: 'UpdateUser with newPath only',
        event: updateUser({ userName: 'bob', newPath: '/eng/' }),
        outcome: 'not-a-rename',
      },
      {
        case: 'UpdateUser that failed',
        event: updateUser(null, { errorCode: 'AccessDenied', errorMessage: 'denied' }),
        outcome: 'failed-call',
      },
      {
        case: 'UpdateUser naming no user to rename',
        event: updateUser({ newUserName: 'robert' }),
        outcome: 'no-target-user',
      },
    ])('$case: $outcome', ({ event, outcome }) => {
      expect(skipReason(event)).toBe(outcome);
    });

    it('records the old name and who renamed the user, from userIdentity only', () => {
      const parsed = target(updateUser({ userName: 'bob', newUserName: 'robert' }));

      expect(parsed.trigger).toMatchObject({
        eventName: 'UpdateUser',
        renamedFrom: 'bob',
        actorArn: IAM_USER.arn,
        actorType: 'IAMUser',
        accessKeyId: undefined,
      });
      expect(parsed.expectation).toBeUndefined();
    });

    it.each([
      { case: 'an invalid new name', request: { userName: 'bob', newUserName: 'rob ert' } },
      { case: 'an invalid old name', request: { userName: 'b/ob', newUserName: 'robert' } },
    ])('rejects $case with InvalidEventError', ({ request }) => {
      expect(() => parseKeyEvent(updateUser(request))).toThrow(InvalidEventError);
    });
  });
});
