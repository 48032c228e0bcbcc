import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/shared/config.ts';
import { sweepSelection } from '../../functions/sweep/members.ts';

const CENTRAL = '111122223333';
const READER = 'arn:aws-us-gov:iam::999988887777:role/keywarden/KeyWardenOrganizationReader';

describe('sweepSelection', () => {
  it.each([
    {
      case: 'the reader role names the management account; the OUs and the allow-list as configured',
      env: {
        MEMBER_OUS: 'ou-ab12-cd34ef56',
        MEMBER_ACCOUNT_IDS: '444455556666',
        ORGANIZATION_ROLE_ARN: READER,
      },
      expected: {
        ous: ['ou-ab12-cd34ef56'],
        accountIds: ['444455556666'],
        centralAccountId: CENTRAL,
        managementAccountId: '999988887777',
      },
    },
    {
      case: 'without a reader role no management account is known',
      env: { MEMBER_OUS: 'ou-ab12-cd34ef56', MEMBER_ACCOUNT_IDS: '444455556666' },
      expected: {
        ous: ['ou-ab12-cd34ef56'],
        accountIds: ['444455556666'],
        centralAccountId: CENTRAL,
        managementAccountId: undefined,
      },
    },
  ])('$case', ({ env, expected }) => {
    const config = loadConfig({ MEMBER_ROLE_NAME: 'KeyWardenMember', ...env });

    expect(sweepSelection(config, CENTRAL)).toEqual(expected);
  });
});
