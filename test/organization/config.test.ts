import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/shared/config.ts';
import { ConfigError } from '../../functions/shared/errors.ts';

describe('loadConfig: organization mode', () => {
  it('is off by default: no member role, no list, no organization role', () => {
    expect(loadConfig({})).toMatchObject({
      memberRoleName: undefined,
      memberAccountIds: undefined,
      organizationRoleArn: undefined,
    });
  });

  // Each accepted value beside a rejected twin; the message names the variable and the value.
  it.each([
    { env: { MEMBER_ROLE_NAME: ' KeyWardenMember ' }, field: 'memberRoleName', parsed: 'KeyWardenMember' },
    {
      env: {
        MEMBER_ROLE_NAME: 'KeyWardenMember',
        MEMBER_ACCOUNT_IDS: '111122223333, 444455556666,111122223333',
      },
      field: 'memberAccountIds',
      parsed: ['111122223333', '444455556666'],
    },
    {
      env: {
        MEMBER_ROLE_NAME: 'KeyWardenMember',
        ORGANIZATION_ROLE_ARN: 'arn:aws-us-gov:iam::999988887777:role/keywarden/KeyWardenOrganizationReader',
      },
      field: 'organizationRoleArn',
      parsed: 'arn:aws-us-gov:iam::999988887777:role/keywarden/KeyWardenOrganizationReader',
    },
    {
      env: {
        MEMBER_ROLE_NAME: 'KeyWardenMember',
        ORGANIZATION_BUS_ARN: 'arn:aws:events:eu-west-1:123456789012:event-bus/keywarden-organization',
      },
      field: 'organizationBusArn',
      parsed: 'arn:aws:events:eu-west-1:123456789012:event-bus/keywarden-organization',
    },
    {
      env: { MEMBER_ROLE_NAME: 'KeyWardenMember', MEMBER_OUS: 'ou-ab12-cd34ef56, r-ab12,ou-ab12-cd34ef56' },
      field: 'memberOus',
      parsed: ['ou-ab12-cd34ef56', 'r-ab12'],
    },
  ])('accepts $env', ({ env, field, parsed }) => {
    expect(loadConfig(env)[field as keyof ReturnType<typeof loadConfig>]).toEqual(parsed);
  });

  it.each([
    { env: { MEMBER_ROLE_NAME: 'Key Warden' }, message: 'MEMBER_ROLE_NAME="Key Warden" is not allowed' },
    { env: { MEMBER_ROLE_NAME: 'r'.repeat(65) }, message: 'MEMBER_ROLE_NAME=' },
    {
      env: { MEMBER_ROLE_NAME: 'KeyWardenMember', MEMBER_ACCOUNT_IDS: '111122223333,44445555666' },
      message: '"44445555666" is not a 12-digit account id',
    },
    {
      env: { MEMBER_ROLE_NAME: 'KeyWardenMember', MEMBER_ACCOUNT_IDS: '111122223333,' },
      message: '"" is not a 12-digit account id',
    },
    {
      env: { MEMBER_ROLE_NAME: 'KeyWardenMember', ORGANIZATION_ROLE_ARN: 'arn:aws:iam::999988887777:user/x' },
      message: 'ORGANIZATION_ROLE_ARN="arn:aws:iam::999988887777:user/x" is not allowed',
    },
    {
      env: { MEMBER_ROLE_NAME: 'KeyWardenMember', MEMBER_OUS: 'ou-ab12-cd34ef56,o-a1b2c3d4e5' },
      message:
        'MEMBER_OUS="ou-ab12-cd34ef56,o-a1b2c3d4e5" is not allowed: "o-a1b2c3d4e5" is not an organizational unit id',
    },
    {
      env: { MEMBER_ROLE_NAME: 'KeyWardenMember', MEMBER_OUS: 'ou-ab12-cd34ef56,' },
      message: '"" is not an organizational unit id',
    },
    {
      env: { MEMBER_OUS: 'ou-ab12-cd34ef56' },
      message: 'MEMBER_OUS is set but MEMBER_ROLE_NAME is not',
    },
    {
      env: { MEMBER_ACCOUNT_IDS: '111122223333' },
      message: 'MEMBER_ACCOUNT_IDS is set but MEMBER_ROLE_NAME is not',
    },
    {
      env: { ORGANIZATION_ROLE_ARN: 'arn:aws:iam::999988887777:role/Reader' },
      message: 'ORGANIZATION_ROLE_ARN is set but MEMBER_ROLE_NAME is not',
    },
    {
      env: { MEMBER_ROLE_NAME: 'KeyWardenMember', ORGANIZATION_BUS_ARN: 'keywarden-organization' },
      message: 'ORGANIZATION_BUS_ARN="keywarden-organization" is not allowed',
    },
    {
      env: { ORGANIZATION_BUS_ARN: 'arn:aws:events:eu-west-1:123456789012:event-bus/keywarden-organization' },
      message: 'ORGANIZATION_BUS_ARN is set but MEMBER_ROLE_NAME is not',
    },
  ])('rejects $env', ({ env, message }) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
