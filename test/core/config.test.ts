import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/shared/config.ts';
import { ConfigError } from '../../functions/shared/errors.ts';

describe('loadConfig', () => {
  it('needs no variable: every setting has a default', () => {
    expect(loadConfig({})).toEqual({
      remediationMode: 'off',
      keepKey: 'newest',
      exemptTag: 'keywarden:exempt',
      rotationGraceHours: 0,
      inUseHours: 24,
      eventBusName: undefined,
      consistencyRetries: 3,
      sweepSource: 'credential-report',
      trustedKeyIssuers: [],
      ownRoleArns: [],
      exemptionApprovers: [],
      maxExemptionDays: 90,
    });
  });

  it.each([
    {
      value: 'arn:aws:iam::123456789012:role/KeyWarden-DetectorRole',
      parsed: ['arn:aws:iam::123456789012:role/KeyWarden-DetectorRole'],
    },
    {
      value: 'arn:aws:iam::123456789012:role/a, arn:aws-us-gov:iam::123456789012:role/path/b',
      parsed: ['arn:aws:iam::123456789012:role/a', 'arn:aws-us-gov:iam::123456789012:role/path/b'],
    },
  ])('reads OWN_ROLE_ARNS=$value', ({ value, parsed }) => {
    expect(loadConfig({ OWN_ROLE_ARNS: value }).ownRoleArns).toEqual(parsed);
  });

  it.each([
    'arn:aws:sts::123456789012:assumed-role/a/b',
    'arn:aws:iam::123456789012:user/alice',
    'arn:aws:iam::12345:role/a',
    'arn:aws:iam::123456789012:role/a,',
  ])('rejects OWN_ROLE_ARNS=%s, naming the variable', (value) => {
    expect(() => loadConfig({ OWN_ROLE_ARNS: value })).toThrow(/OWN_ROLE_ARNS=.*is not an IAM role ARN/);
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ AWS_REGION: 'us-east-1', PATH: '/usr/bin' })).toEqual(loadConfig({}));
  });

  // Each accepted value beside a rejected twin; the message names the variable, the value and what is allowed.
  it.each([
    { name: 'REMEDIATION_MODE', value: 'deactivate', field: 'remediationMode', parsed: 'deactivate' },
    { name: 'REMEDIATION_MODE', value: ' dry-run ', field: 'remediationMode', parsed: 'dry-run' },
    { name: 'KEEP_KEY', value: 'oldest', field: 'keepKey', parsed: 'oldest' },
    { name: 'KEEP_KEY', value: 'last-used', field: 'keepKey', parsed: 'last-used' },
    { name: 'KEEP_KEY', value: 'auto', field: 'keepKey', parsed: 'auto' },
    {
      name: 'TRUSTED_KEY_ISSUERS',
      value: 'arn:aws:iam::123456789012:role/provisioning',
      field: 'trustedKeyIssuers',
      parsed: ['arn:aws:iam::123456789012:role/provisioning'],
    },
    {
      name: 'TRUSTED_KEY_ISSUERS',
      value: ' arn:aws:iam::123456789012:role/provisioning , arn:aws:sts::123456789012:assumed-role/ci-*/*,',
      field: 'trustedKeyIssuers',
      parsed: [
        'arn:aws:iam::123456789012:role/provisioning',
        'arn:aws:sts::123456789012:assumed-role/ci-*/*',
      ],
    },
    {
      name: 'TRUSTED_KEY_ISSUERS',
      value: 'arn:aws:iam::123456789012:root,arn:aws:iam::123456789012:root',
      field: 'trustedKeyIssuers',
      parsed: ['arn:aws:iam::123456789012:root'],
    },
    { name: 'EXEMPT_TAG', value: 'security/exempt', field: 'exemptTag', parsed: 'security/exempt' },
    { name: 'ROTATION_GRACE_HOURS', value: '24', field: 'rotationGraceHours', parsed: 24 },
    { name: 'ROTATION_GRACE_HOURS', value: '16', field: 'rotationGraceHours', parsed: 16 },
    { name: 'ROTATION_GRACE_HOURS', value: ' 048 ', field: 'rotationGraceHours', parsed: 48 },
    { name: 'ROTATION_GRACE_HOURS', value: '2160', field: 'rotationGraceHours', parsed: 2160 },
    { name: 'IN_USE_HOURS', value: '0', field: 'inUseHours', parsed: 0 },
    { name: 'IN_USE_HOURS', value: '72', field: 'inUseHours', parsed: 72 },
    { name: 'IN_USE_HOURS', value: '2160', field: 'inUseHours', parsed: 2160 },
    { name: 'CONSISTENCY_RETRIES', value: '0', field: 'consistencyRetries', parsed: 0 },
    { name: 'CONSISTENCY_RETRIES', value: '10', field: 'consistencyRetries', parsed: 10 },
    { name: 'EVENT_BUS_NAME', value: 'security-events', field: 'eventBusName', parsed: 'security-events' },
    {
      name: 'EVENT_BUS_NAME',
      value: 'arn:aws:events:us-east-1:123456789012:event-bus/security-events',
      field: 'eventBusName',
      parsed: 'arn:aws:events:us-east-1:123456789012:event-bus/security-events',
    },
    { name: 'SWEEP_SOURCE', value: 'full', field: 'sweepSource', parsed: 'full' },
    {
      name: 'EXEMPTION_APPROVERS',
      value: 'arn:aws:iam::123456789012:role/security-admin',
      field: 'exemptionApprovers',
      parsed: ['arn:aws:iam::123456789012:role/security-admin'],
    },
    { name: 'MAX_EXEMPTION_DAYS', value: '1', field: 'maxExemptionDays', parsed: 1 },
    { name: 'MAX_EXEMPTION_DAYS', value: '365', field: 'maxExemptionDays', parsed: 365 },
  ])('accepts $name=$value', ({ name, value, field, parsed }) => {
    expect(loadConfig({ [name]: value })[field as keyof ReturnType<typeof loadConfig>]).toEqual(parsed);
  });

  it.each([
    { name: 'REMEDIATION_MODE', value: 'on', allowed: 'use one of: off, dry-run, deactivate' },
    { name: 'REMEDIATION_MODE', value: 'DEACTIVATE', allowed: 'use one of: off, dry-run, deactivate' },
    { name: 'KEEP_KEY', value: 'latest', allowed: 'use one of: newest, oldest, last-used, auto' },
    { name: 'TRUSTED_KEY_ISSUERS', value: '*', allowed: 'use IAM or STS ARNs with * wildcards' },
    { name: 'TRUSTED_KEY_ISSUERS', value: ' ', allowed: 'use IAM or STS ARNs with * wildcards' },
    { name: 'TRUSTED_KEY_ISSUERS', value: ',', allowed: 'use IAM or STS ARNs with * wildcards' },
    { name: 'TRUSTED_KEY_ISSUERS', value: 'arn:*', allowed: 'use IAM or STS ARNs with * wildcards' },
    {
      name: 'TRUSTED_KEY_ISSUERS',
      value: 'provisioning-role',
      allowed: 'use IAM or STS ARNs with * wildcards',
    },
    {
      name: 'TRUSTED_KEY_ISSUERS',
      value: 'arn:aws:iam::123456789012:role/ok,arn:aws:iam::123456789012:role/with space',
      allowed: '"arn:aws:iam::123456789012:role/with space" is not an ARN pattern',
    },
    {
      name: 'TRUSTED_KEY_ISSUERS',
      value: 'arn:aws:ec2:us-east-1:123456789012:instance/*',
      allowed: 'is not an ARN pattern of IAM or STS (service "ec2" is neither iam nor sts)',
    },
    {
      name: 'TRUSTED_KEY_ISSUERS',
      value: 'arn:aws:sts:*:123456789012:assumed-role/ci/*',
      allowed: 'region "*" must be empty',
    },
    {
      name: 'EXEMPTION_APPROVERS',
      value: 'arn:aws:iam:us-east-1:123456789012:role/security-admin',
      allowed: 'is not an ARN pattern of IAM or STS (region "us-east-1" must be empty',
    },
    { name: 'EXEMPTION_APPROVERS', value: 'security-admin', allowed: 'use IAM or STS ARNs with * wildcards' },
    { name: 'MAX_EXEMPTION_DAYS', value: '0', allowed: 'use a whole number from 1 to 365' },
    { name: 'MAX_EXEMPTION_DAYS', value: '366', allowed: 'use a whole number from 1 to 365' },
    { name: 'EXEMPT_TAG', value: 'aws:exempt', allowed: 'use an IAM tag key' },
    { name: 'EXEMPT_TAG', value: 'exempt#1', allowed: 'use an IAM tag key' },
    { name: 'EXEMPT_TAG', value: 'k'.repeat(129), allowed: 'use an IAM tag key' },
    { name: 'IN_USE_HOURS', value: '-1', allowed: 'use a whole number from 0 to 2160' },
    { name: 'IN_USE_HOURS', value: '2161', allowed: 'use a whole number from 0 to 2160' },
    { name: 'IN_USE_HOURS', value: '1.5', allowed: 'use a whole number from 0 to 2160' },
    { name: 'IN_USE_HOURS', value: '', allowed: 'use a whole number from 0 to 2160' },
    { name: 'ROTATION_GRACE_HOURS', value: '-1', allowed: 'use a whole number from 0 to 2160' },
    { name: 'ROTATION_GRACE_HOURS', value: '2161', allowed: 'use a whole number from 0 to 2160' },
    { name: 'ROTATION_GRACE_HOURS', value: 'ten', allowed: 'use a whole number from 0 to 2160' },
    { name: 'ROTATION_GRACE_HOURS', value: 'Infinity', allowed: 'use a whole number from 0 to 2160' },
    // Number() reads these as 16, 1000, 0.5, 0 and 0; none is a plain decimal integer.
    { name: 'ROTATION_GRACE_HOURS', value: '0x10', allowed: 'use a whole number from 0 to 2160' },
    { name: 'ROTATION_GRACE_HOURS', value: '1e3', allowed: 'use a whole number from 0 to 2160' },
    { name: 'ROTATION_GRACE_HOURS', value: '0.5', allowed: 'use a whole number from 0 to 2160' },
    { name: 'ROTATION_GRACE_HOURS', value: ' ', allowed: 'use a whole number from 0 to 2160' },
    { name: 'ROTATION_GRACE_HOURS', value: '', allowed: 'use a whole number from 0 to 2160' },
    { name: 'CONSISTENCY_RETRIES', value: '0b11', allowed: 'use a whole number from 0 to 10' },
    { name: 'CONSISTENCY_RETRIES', value: '', allowed: 'use a whole number from 0 to 10' },
    // An empty value is not the default: the variable is set, so something meant to give it a value.
    { name: 'REMEDIATION_MODE', value: '', allowed: 'use one of: off, dry-run, deactivate' },
    { name: 'KEEP_KEY', value: '  ', allowed: 'use one of: newest, oldest, last-used' },
    { name: 'EXEMPT_TAG', value: '', allowed: 'use an IAM tag key' },
    { name: 'EXEMPT_TAG', value: ' ', allowed: 'use an IAM tag key' },
    { name: 'EVENT_BUS_NAME', value: '', allowed: 'use an event bus name or ARN' },
    { name: 'SWEEP_SOURCE', value: '', allowed: 'use one of: credential-report, full' },
    { name: 'CONSISTENCY_RETRIES', value: '1.5', allowed: 'use a whole number from 0 to 10' },
    { name: 'CONSISTENCY_RETRIES', value: '11', allowed: 'use a whole number from 0 to 10' },
    { name: 'EVENT_BUS_NAME', value: 'bus with spaces', allowed: 'use an event bus name or ARN' },
    { name: 'SWEEP_SOURCE', value: 'cloudtrail', allowed: 'use one of: credential-report, full' },
  ])(
    'rejects $name=$value naming the variable, the value and the allowed values',
    ({ name, value, allowed }) => {
      let thrown: unknown;
      try {
        loadConfig({ [name]: value });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      const message = (thrown as Error).message;
      expect(message).toContain(`${name}=${JSON.stringify(value)}`);
      expect(message).toContain(allowed);
    },
  );

  it('rejects more than 50 TRUSTED_KEY_ISSUERS entries, showing the start of the value', () => {
    const value = Array.from({ length: 51 }, (_, i) => `arn:aws:iam::123456789012:role/r${i}`).join(',');
    expect(() => loadConfig({ TRUSTED_KEY_ISSUERS: value })).toThrow(
      /^TRUSTED_KEY_ISSUERS="arn:aws:iam::123456789012:role\/r0,.{200,}…" is not allowed: 51 entries; use at most 50/,
    );
    expect(
      loadConfig({ TRUSTED_KEY_ISSUERS: value.split(',').slice(0, 50).join(',') }).trustedKeyIssuers,
    ).toHaveLength(50);
  });

  it('caps MAX_EXEMPTION_DAYS at the 90 days CloudTrail keeps when EXEMPTION_APPROVERS is set', () => {
    const approvers = { EXEMPTION_APPROVERS: 'arn:aws:iam::123456789012:role/security-admin' };
    expect(loadConfig({ ...approvers, MAX_EXEMPTION_DAYS: '90' }).maxExemptionDays).toBe(90);
    expect(() => loadConfig({ ...approvers, MAX_EXEMPTION_DAYS: '91' })).toThrow(
      'MAX_EXEMPTION_DAYS="91" is not allowed; use a whole number from 1 to 90',
    );
  });

  it('refuses EXEMPTION_APPROVERS in organization mode, naming both variables', () => {
    expect(() =>
      loadConfig({
        EXEMPTION_APPROVERS: 'arn:aws:iam::123456789012:role/security-admin',
        MEMBER_ROLE_NAME: 'KeyWardenMember',
        MEMBER_ACCOUNT_IDS: '111122223333',
      }),
    ).toThrow(/EXEMPTION_APPROVERS is set with MEMBER_ROLE_NAME/);
  });
});
