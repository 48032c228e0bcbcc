import { IAMServiceException } from '@aws-sdk/client-iam';
import { InvalidAccessException } from '@aws-sdk/client-securityhub';
import { describe, expect, it } from 'vitest';
import { deniedPermission, describeError } from '../../functions/cli/errors.ts';
import { AwsCallError, CredentialReportError, MemberRoleError } from '../../functions/shared/errors.ts';

const CONTEXT = { accountId: '123456789012', region: 'eu-west-1' };
const MEMBER_ROLE = 'arn:aws:iam::111122223333:role/KeyWardenMember';

function memberRoleError(code: string, message: string, cause?: unknown): MemberRoleError {
  return new MemberRoleError('111122223333', MEMBER_ROLE, code, message, {
    cause: cause ?? named(code, message),
  });
}

function named(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

function iamError(name: string, message: string): IAMServiceException {
  return new IAMServiceException({ name, $fault: 'client', $metadata: {}, message });
}

describe('describeError', () => {
  it.each([
    {
      case: 'missing credentials',
      error: named('CredentialsProviderError', 'Could not load credentials from any providers'),
      says: /No AWS credentials found: pass --profile/,
    },
    {
      case: 'a profile without credentials',
      error: named('CredentialsProviderError', 'Could not load credentials from any providers'),
      profile: 'dev',
      says: /^No AWS credentials from profile "dev": run `aws sso login --profile dev`/,
    },
    {
      case: 'a missing region',
      error: named('Error', 'Region is missing'),
      says: /No AWS region: pass --region/,
    },
    {
      case: 'expired credentials',
      error: named('ExpiredToken', 'The security token included in the request is expired'),
      says: /rejected the credentials \(ExpiredToken\)/,
    },
    {
      case: 'Security Hub not enabled',
      error: new AwsCallError(
        'GetFindings',
        'InvalidAccessException',
        'Account 123456789012 is not subscribed to AWS Security Hub',
        {
          cause: new InvalidAccessException({
            $metadata: {},
            message: 'Account 123456789012 is not subscribed to AWS Security Hub',
          }),
        },
      ),
      says: /Security Hub CSPM is not enabled for account 123456789012 in eu-west-1.*--import-findings/,
    },
    {
      case: 'access denied, with the action in the message',
      error: new AwsCallError('GetUser', 'AccessDenied', 'x', {
        cause: iamError(
          'AccessDenied',
          'User: arn:aws:iam::123456789012:user/auditor is not authorized to perform: iam:GetUser on resource: user bob',
        ),
      }),
      says: /may not call iam:GetUser;/,
    },
    {
      case: 'access denied, without the action in the message',
      error: new AwsCallError('GenerateCredentialReport', 'AccessDenied', 'denied', {
        cause: iamError('AccessDenied', 'denied'),
      }),
      says: /may not call iam:GenerateCredentialReport; .* or list users live with --full\.$/,
    },
    {
      case: 'an unreachable endpoint',
      error: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      says: /Could not reach AWS \(connect ECONNREFUSED/,
    },
    {
      case: 'a member role that cannot be assumed',
      error: memberRoleError(
        'AccessDenied',
        `User: arn:aws:iam::123456789012:user/auditor is not authorized to perform: sts:AssumeRole on resource: ${MEMBER_ROLE}`,
      ),
      says: new RegExp(
        `^Could not assume the member role ${MEMBER_ROLE} \\(AccessDenied: User: .* is not authorized to perform: sts:AssumeRole on resource: .*\\): check that the role exists in account 111122223333, that it trusts the caller, and that the caller may call sts:AssumeRole on it\\.$`,
      ),
    },
    {
      case: 'expired credentials met when assuming a member role',
      error: memberRoleError('ExpiredToken', 'The security token included in the request is expired'),
      says: /^AWS rejected the credentials \(ExpiredToken\)/,
    },
    {
      case: 'STS unreachable when assuming a member role',
      error: memberRoleError(
        'UnknownError',
        'connect ECONNREFUSED 127.0.0.1:1',
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      ),
      says: /^Could not reach AWS \(connect ECONNREFUSED/,
    },
    {
      case: 'ListAccounts denied outside the management account and delegated administrator',
      error: new AwsCallError('organizations:ListAccounts', 'AccessDeniedException', 'denied', {
        cause: named('AccessDeniedException', 'You don’t have permissions to access this resource.'),
      }),
      says: /^Access denied: the credentials in use may not call organizations:ListAccounts, which works only in the management account or a delegated administrator .*--accounts\.$/,
    },
    {
      case: 'an OU listing denied outside the management account and delegated administrator',
      error: new AwsCallError('organizations:ListAccountsForParent', 'AccessDeniedException', 'denied', {
        cause: named('AccessDeniedException', 'You don’t have permissions to access this resource.'),
      }),
      says: /^Access denied: the credentials in use may not call organizations:ListAccountsForParent, which works only in the management account .*--accounts\.$/,
    },
    {
      case: 'an OU of --ous that does not exist',
      error: new AwsCallError(
        'organizations:ListAccountsForParent',
        'ParentNotFoundException',
        'ou-ab12-cd34ef56: We can’t find a root or OU with the ParentId that you specified.',
        { cause: named('ParentNotFoundException', 'We can’t find a root or OU') },
      ),
      says: /^An OU of --ous is not in the caller's organization \(organizations:ListAccountsForParent failed: ParentNotFoundException: ou-ab12-cd34ef56: .*\): check the OU ids/,
    },
    {
      case: 'an account in no organization',
      error: new AwsCallError(
        'organizations:ListAccounts',
        'AWSOrganizationsNotInUseException',
        'not in use',
        {
          cause: named('AWSOrganizationsNotInUseException', 'not in use'),
        },
      ),
      says: /^The caller's account is not in an organization \(AWSOrganizationsNotInUseException\): name the accounts with --accounts/,
    },
    {
      case: 'a named KeyWarden error',
      error: new CredentialReportError('the IAM credential report was not ready after 300 s'),
      says: /^CredentialReportError: the IAM credential report was not ready/,
    },
  ])('explains $case', ({ error, says, ...rest }) => {
    const profile = 'profile' in rest ? rest.profile : undefined;
    expect(describeError(error, { ...CONTEXT, profile })).toMatch(says);
  });
});

describe('deniedPermission', () => {
  it.each([
    {
      operation: undefined,
      message: 'is not authorized to perform: securityhub:GetFindings on',
      permission: 'securityhub:GetFindings',
    },
    { operation: 'BatchImportFindings', message: 'denied', permission: 'securityhub:BatchImportFindings' },
    { operation: 'ListAccessKeys', message: 'denied', permission: 'iam:ListAccessKeys' },
    { operation: 'GetCallerIdentity', message: 'denied', permission: 'sts:GetCallerIdentity' },
    { operation: 'organizations:ListAccounts', message: 'denied', permission: 'organizations:ListAccounts' },
    { operation: undefined, message: 'denied', permission: undefined },
  ])('names $permission for $operation / "$message"', ({ operation, message, permission }) => {
    expect(deniedPermission(operation, message)).toBe(permission);
  });
});
