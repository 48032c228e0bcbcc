import { describe, expect, it } from 'vitest';
import { asffProblems } from '../../functions/core/asff.ts';
import { classifyMinter, type EventTrigger, keyGrantOf } from '../../functions/core/attribution.ts';
import { findingIdFor } from '../../functions/core/finding.ts';
import {
  buildThreatFinding,
  isOpenThreat,
  originOfThreat,
  raisesThreat,
  resolvedByOf,
  THREAT_FINDING_TYPE,
  THREAT_GENERATOR_ID,
  type ThreatRecord,
  type ThreatState,
  threatFindingIdFor,
  threatRecordFromEvent,
  threatRecordOf,
} from '../../functions/core/threat-finding.ts';
import type { AccessKey } from '../../functions/core/types.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { ACCOUNT, key, OLD_KEY, SWEEP_TRIGGER, user } from './builders.ts';
import {
  ACCOUNT_ID,
  ASSUMED_ROLE,
  createdBy,
  FEDERATED_USER,
  IAM_USER,
  type Json,
  ROLE,
  ROLE_SESSION,
  ROOT,
} from './identities.ts';

const NOW = new Date('2026-06-01T12:00:01.000Z');
const BOB = user({ userName: 'bob', userId: 'AIDABOB0000000000001' });
const MINTED = key('AKIANEW0000000000002', '2026-06-01T11:59:58.000Z');
const FIELD = 'keywarden/threat';

function recordFor(trigger: EventTrigger, keys: readonly AccessKey[] = [OLD_KEY, MINTED]): ThreatRecord {
  const grant = keyGrantOf(trigger, undefined);
  if (grant === undefined) throw new Error('expected a grant');
  return threatRecordFromEvent({ trigger, grant, user: BOB, keys, now: NOW });
}

function built(record: ThreatRecord, state: ThreatState = { key: 'active' }) {
  const finding = buildThreatFinding(ACCOUNT, record, state, NOW);
  expectValidAsff(finding);
  return finding;
}

const RESOLVED_AT = new Date('2026-06-01T12:05:00.000Z');

describe('raisesThreat', () => {
  // Every identity type of the fixture, each beside its twin: only another, untrusted principal raises a threat.
  it.each([
    { case: 'the user itself', identity: { ...IAM_USER, userName: 'bob' }, trusted: [], raises: false },
    { case: 'another IAM user', identity: IAM_USER, trusted: [], raises: true },
    { case: 'an assumed role', identity: ASSUMED_ROLE, trusted: [], raises: true },
    { case: 'a trusted assumed role', identity: ASSUMED_ROLE, trusted: [ROLE], raises: false },
    { case: 'a federated user', identity: FEDERATED_USER, trusted: [], raises: true },
    {
      case: 'a trusted federated user',
      identity: FEDERATED_USER,
      trusted: ['arn:aws:sts::123456789012:federated-user/*'],
      raises: false,
    },
    { case: 'root', identity: ROOT, trusted: [], raises: true },
    { case: 'trusted root', identity: ROOT, trusted: ['arn:aws:iam::123456789012:root'], raises: false },
  ])('is $raises for a key created by $case', ({ identity, trusted, raises }) => {
    const trigger = createdBy(identity as Json, 'bob');
    expect(raisesThreat(classifyMinter(trigger, 'bob', ACCOUNT_ID, trusted))).toBe(raises);
  });
});

describe('buildThreatFinding', () => {
  it.each([
    {
      case: 'another IAM user',
      identity: IAM_USER,
      arn: 'arn:aws:iam::123456789012:user/Alice',
      kind: 'IAM user',
    },
    { case: 'an assumed role', identity: ASSUMED_ROLE, arn: ROLE_SESSION, kind: 'assumed role' },
    {
      case: 'a federated user',
      identity: FEDERATED_USER,
      arn: 'arn:aws:sts::123456789012:federated-user/my-federated-user-name',
      kind: 'federated user',
    },
    { case: 'root', identity: ROOT, arn: 'arn:aws:iam::123456789012:root', kind: 'root user' },
  ])('raises a valid HIGH TTPs finding for a key created by $case', ({ identity, arn, kind }) => {
    const finding = built(recordFor(createdBy(identity, 'bob')));

    expect(finding).toMatchObject({
      Id: `keywarden/t1098.001/${ACCOUNT_ID}/AKIANEW0000000000002`,
      GeneratorId: THREAT_GENERATOR_ID,
      Types: [THREAT_FINDING_TYPE],
      Severity: { Label: 'HIGH' },
      FindingProviderFields: { Severity: { Label: 'HIGH' }, Types: [THREAT_FINDING_TYPE] },
      Compliance: { Status: 'FAILED', StatusReasons: [{ ReasonCode: 'KEY_MINTED_BY_ANOTHER_PRINCIPAL' }] },
      RecordState: 'ACTIVE',
      CreatedAt: '2026-06-01T11:59:58Z',
      UpdatedAt: NOW.toISOString(),
    });
    expect(finding.ProductFields).toMatchObject({
      [`${FIELD}/actorArn`]: arn,
      [`${FIELD}/actorKind`]: kind,
      [`${FIELD}/accessKeyId`]: 'AKIANEW0000000000002',
      [`${FIELD}/userName`]: 'bob',
      [`${FIELD}/activeKeysAfterCall`]: 'AKIAOLD0000000000001,AKIANEW0000000000002',
      [`${FIELD}/sourceIp`]: '203.0.113.7',
      [`${FIELD}/keyState`]: 'active',
    });
    expect(finding.Title).toBe(
      `Access key AKIANEW0000000000002 of IAM user bob was created by another principal: ${arn}`,
    );
    expect(finding.Description).toContain(`by ${arn}`);
  });

  it('names the actor type, source IP, user agent, MFA flag, the new key and the active keys after the call', () => {
    const trigger = { ...createdBy(ASSUMED_ROLE, 'bob'), userAgent: 'aws-cli/2.15.0 custom' };
    const finding = built(recordFor(trigger));
    expect(finding.Description).toBe(
      `Key AKIANEW0000000000002 is active. CreateAccessKey by ${ROLE_SESSION} (AssumedRole, assumed role), session of ${ROLE} created access key AKIANEW0000000000002 of IAM user bob (arn:aws:iam::123456789012:user/bob). The caller is neither that user nor a trusted key issuer (TRUSTED_KEY_ISSUERS). Source IP 203.0.113.7; MFA authenticated: no; user agent "aws-cli/2.15.0 custom" (written by the client, proves nothing). Event ev-1 at 2026-06-01T11:59:58Z. Active keys of bob after the call: AKIAOLD0000000000001, AKIANEW0000000000002. Creating or re-activating a key for another identity is a persistence technique (MITRE ATT&CK T1098.001).`,
    );
    expect(finding.ProductFields).toMatchObject({
      [`${FIELD}/actorType`]: 'AssumedRole',
      [`${FIELD}/actorIssuerArn`]: ROLE,
      [`${FIELD}/actorMfa`]: 'false',
      [`${FIELD}/userAgent`]: 'aws-cli/2.15.0 custom',
      [`${FIELD}/eventName`]: 'CreateAccessKey',
      [`${FIELD}/how`]: 'created',
    });
    expect(finding.Action).toEqual({
      ActionType: 'AWS_API_CALL',
      AwsApiCallAction: {
        Api: 'CreateAccessKey',
        ServiceName: 'iam.amazonaws.com',
        CallerType: 'remoteip',
        RemoteIpDetails: { IpAddressV4: '203.0.113.7' },
        FirstSeen: '2026-06-01T11:59:58Z',
        LastSeen: '2026-06-01T11:59:58Z',
      },
    });
  });

  it('says which key to switch off, with the command, in the remediation text', () => {
    const finding = built(recordFor(createdBy(IAM_USER, 'bob')));
    const text = finding.Remediation?.Recommendation?.Text ?? '';
    expect(text).toContain(
      'Switch off AKIANEW0000000000002 unless this hand-off was expected: aws iam update-access-key --user-name bob --access-key-id AKIANEW0000000000002 --status Inactive.',
    );
    expect(text).not.toContain('AKIAOLD0000000000001');
    expect(finding.Remediation?.Recommendation?.Url).toBe('https://attack.mitre.org/techniques/T1098/001/');
  });

  it('is a first key too: raised with only the minted key active (CIS 1.13 holds)', () => {
    const finding = built(recordFor(createdBy(IAM_USER, 'bob'), [MINTED]));
    expect(finding.ProductFields?.[`${FIELD}/activeKeysAfterCall`]).toBe('AKIANEW0000000000002');
    expect(finding.Compliance?.Status).toBe('FAILED');
  });

  it('has an Id of its own, never the user’s CIS 1.13 finding Id', () => {
    const finding = built(recordFor(createdBy(IAM_USER, 'bob')));
    expect(finding.Id).toBe(threatFindingIdFor(ACCOUNT_ID, 'AKIANEW0000000000002'));
    expect(finding.Id).not.toBe(findingIdFor(ACCOUNT_ID, 'bob'));
  });

  it('keeps the same Id, CreatedAt and content for the same event handled twice', () => {
    const record = recordFor(createdBy(IAM_USER, 'bob'));
    const first = buildThreatFinding(ACCOUNT, record, { key: 'active' }, NOW);
    const again = buildThreatFinding(
      ACCOUNT,
      record,
      { key: 'active' },
      new Date('2026-06-01T12:00:09.000Z'),
    );
    const { UpdatedAt: _a, LastObservedAt: _b, ...firstRest } = first;
    const { UpdatedAt: _c, LastObservedAt: _d, ...againRest } = again;
    expect(againRest).toEqual(firstRest);
  });

  // Each resolved state beside the open one.
  it.each([
    {
      state: { key: 'active' } as const,
      status: 'FAILED',
      record: 'ACTIVE',
      keyStatus: 'Active',
      title: '',
      reason: 'KEY_MINTED_BY_ANOTHER_PRINCIPAL',
    },
    {
      state: {
        key: 'inactive',
        by: 'UpdateAccessKey by arn:aws:iam::123456789012:user/bob',
        at: RESOLVED_AT,
      } as const,
      status: 'PASSED',
      record: 'ACTIVE',
      keyStatus: 'Inactive',
      title: ' (key now inactive)',
      reason: 'KEY_INACTIVE',
    },
    {
      state: { key: 'deleted', by: 'found by the scheduled sweep', at: RESOLVED_AT } as const,
      status: 'PASSED',
      record: 'ARCHIVED',
      keyStatus: undefined,
      title: ' (key deleted)',
      reason: 'KEY_DELETED',
    },
  ])(
    'is $status and $record when the key is $state.key',
    ({ state, status, record, keyStatus, title, reason }) => {
      const finding = built(recordFor(createdBy(IAM_USER, 'bob')), state);
      expect(finding.Compliance?.Status).toBe(status);
      expect(finding.Compliance?.StatusReasons?.[0]?.ReasonCode).toBe(reason);
      expect(finding.RecordState).toBe(record);
      expect(finding.Severity?.Label).toBe('HIGH');
      expect(finding.Resources?.[0]?.Details?.AwsIamAccessKey?.Status).toBe(keyStatus);
      expect(finding.Title).toBe(
        `Access key AKIANEW0000000000002 of IAM user bob was created by another principal: arn:aws:iam::123456789012:user/Alice${title}`,
      );
      if (state.key !== 'active') {
        expect(finding.ProductFields?.[`${FIELD}/resolvedBy`]).toBe(state.by);
        expect(finding.Description).toMatch(
          new RegExp(
            `^Key AKIANEW0000000000002 (is inactive since|was deleted by) ${RESOLVED_AT.toISOString()}`,
          ),
        );
      }
    },
  );

  it('says re-activated for UpdateAccessKey to Active', () => {
    const trigger = { ...createdBy(IAM_USER, 'bob'), eventName: 'UpdateAccessKey' as const };
    const grant = keyGrantOf(trigger, { accessKeyId: 'AKIANEW0000000000002', state: 'Active' });
    if (grant === undefined) throw new Error('expected a grant');
    const finding = built(
      threatRecordFromEvent({ trigger, grant, user: BOB, keys: [OLD_KEY, MINTED], now: NOW }),
    );
    expect(finding.Title).toContain('was re-activated by another principal');
    expect(finding.Action?.AwsApiCallAction?.Api).toBe('UpdateAccessKey');
  });

  it.each([
    {
      sourceIp: 'cloudformation.amazonaws.com',
      action: { CallerType: 'domain', DomainDetails: { Domain: 'cloudformation.amazonaws.com' } },
    },
    { sourceIp: '2001:db8::1', action: {} },
    { sourceIp: '211.9.016.253', action: {} },
    { sourceIp: '', action: {} },
  ])('records source $sourceIp in Action only where ASFF takes it', ({ sourceIp, action }) => {
    const finding = built(recordFor({ ...createdBy(IAM_USER, 'bob'), sourceIp }));
    const { Api, ServiceName, FirstSeen, LastSeen, ...origin } = finding.Action?.AwsApiCallAction ?? {};
    expect(origin).toEqual(action);
  });

  it('falls back to the import time when the event time is missing or ahead of the clock', () => {
    for (const eventTime of ['', 'yesterday', '2026-06-01T12:30:00Z']) {
      const finding = built(recordFor({ ...createdBy(IAM_USER, 'bob'), eventTime }));
      expect(finding.CreatedAt).toBe(NOW.toISOString());
    }
  });

  it('stays valid with the longest fields the event parser lets through', () => {
    const long = 'x'.repeat(512);
    const trigger = {
      ...createdBy(IAM_USER, 'b'.repeat(64)),
      actorArn: `arn:aws:iam::123456789012:user/${long}`,
      userAgent: long,
      actorIssuerArn: long,
    };
    const record = threatRecordFromEvent({
      trigger,
      grant: { accessKeyId: 'AKIANEW0000000000002', how: 'created' },
      user: user({ userName: 'b'.repeat(64) }),
      keys: [OLD_KEY, MINTED],
      now: NOW,
    });
    const finding = buildThreatFinding(ACCOUNT, record, { key: 'active' }, NOW);
    expect(asffProblems(finding, ACCOUNT_ID, 'aws')).toEqual([]);
    // The command to switch the key off comes before anything truncation could cut.
    expect(finding.Remediation?.Recommendation?.Text).toContain(
      '--access-key-id AKIANEW0000000000002 --status Inactive',
    );
  });

  it('leaves the key creation time out when IAM no longer lists the key', () => {
    const finding = built(recordFor(createdBy(IAM_USER, 'bob'), [OLD_KEY]));
    expect(finding.Resources?.[0]?.Details?.AwsIamAccessKey?.CreatedAt).toBeUndefined();
    expect(finding.ProductFields?.[`${FIELD}/activeKeysAfterCall`]).toBe('AKIAOLD0000000000001');
  });
});

describe('threatRecordOf', () => {
  it('reads back the record a finding was built from, so a resolution rebuilds the same story', () => {
    const record = recordFor(createdBy(FEDERATED_USER, 'bob'));
    const finding = built(record);
    expect(threatRecordOf(finding)).toEqual(record);
    const resolved = built(threatRecordOf(finding) as ThreatRecord, {
      key: 'inactive',
      by: resolvedByOf(SWEEP_TRIGGER),
      at: RESOLVED_AT,
    });
    expect(threatRecordOf(resolved)).toEqual(record);
    expect(resolved.CreatedAt).toBe(finding.CreatedAt);
  });

  it.each([
    {
      case: 'a CIS 1.13 finding',
      change: { GeneratorId: 'keywarden/cis-aws-foundations-benchmark/v3.0.0/1.13' },
    },
    { case: 'a finding without its key field', change: { ProductFields: {} } },
  ])('is undefined for $case', ({ change }) => {
    const finding = { ...built(recordFor(createdBy(IAM_USER, 'bob'))), ...change };
    expect(threatRecordOf(finding)).toBeUndefined();
  });
});

describe('originOfThreat', () => {
  const record = recordFor(createdBy(IAM_USER, 'bob'));
  it.each([
    { state: { key: 'active' } as const, open: true },
    { state: { key: 'inactive', by: 'x', at: RESOLVED_AT } as const, open: false },
    { state: { key: 'deleted', by: 'x', at: RESOLVED_AT } as const, open: false },
  ])(
    'says the key came from another principal only while the finding is open ($state.key)',
    ({ state, open }) => {
      const finding = built(record, state);
      expect(isOpenThreat(finding)).toBe(open);
      expect(originOfThreat(finding)).toEqual(
        open
          ? {
              accessKeyId: 'AKIANEW0000000000002',
              how: 'created',
              minter: 'another-principal',
              actorArn: 'arn:aws:iam::123456789012:user/Alice',
              actorType: 'IAMUser',
              eventTime: '2026-06-01T11:59:58Z',
            }
          : undefined,
      );
    },
  );
});

describe('resolvedByOf', () => {
  it.each([
    { trigger: SWEEP_TRIGGER, text: 'found by the scheduled sweep' },
    { trigger: { kind: 'sweep', origin: 'cli' } as const, text: 'found by the CLI sweep' },
    {
      trigger: { ...createdBy(IAM_USER, 'bob'), eventName: 'DeleteAccessKey' as const },
      text: 'DeleteAccessKey by arn:aws:iam::123456789012:user/Alice, event ev-1',
    },
  ])('says $text', ({ trigger, text }) => {
    expect(resolvedByOf(trigger)).toBe(text);
  });
});
