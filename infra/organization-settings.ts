import { Token } from 'aws-cdk-lib';
import {
  ACCOUNT_ID_PATTERN,
  ORGANIZATIONAL_UNIT_ALLOWED,
  ORGANIZATIONAL_UNIT_PATTERN,
  ROLE_NAME_PATTERN,
} from '../functions/shared/constants.ts';
import { SettingError } from './errors.ts';

/** An AWS Organizations organization id. */
export const ORGANIZATION_ID_PATTERN = /^o-[a-z0-9]{10,32}$/;
export { ORGANIZATIONAL_UNIT_PATTERN };
/** The exact ARN of an IAM role or user (no wildcard): what a trust policy can name as a principal. */
export const PRINCIPAL_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/;

/** Name of the read-only role the management stack creates for the sweep's listing of the member accounts. */
export const DEFAULT_ORGANIZATION_READER_ROLE_NAME = 'KeyWardenOrganizationReader';

/** A `SettingError` for `name` = `value` unless `value` (when known at synth) matches `pattern`. */
export function requireMatch(name: string, value: string, pattern: RegExp, allowed: string): void {
  if (Token.isUnresolved(value) || pattern.test(value)) return;
  throw new SettingError(`${name} ${JSON.stringify(value)} is not allowed; use ${allowed}`);
}

export const ALLOWED = {
  organizationId: 'an organization id: o- then 10 to 32 lower-case letters or digits (o-a1b2c3d4e5)',
  organizationalUnit: ORGANIZATIONAL_UNIT_ALLOWED,
  roleName: 'an IAM role name (1-64 letters, digits and +=,.@_-)',
  accountId: 'a 12-digit account id',
  principalArn:
    'the exact ARN of an IAM role or user (arn:<partition>:iam::<account>:role/<name>), no wildcard',
} as const;

export function validateOrganizationId(name: string, value: string): void {
  requireMatch(name, value, ORGANIZATION_ID_PATTERN, ALLOWED.organizationId);
}

export function validateRoleName(name: string, value: string): void {
  requireMatch(name, value, ROLE_NAME_PATTERN, ALLOWED.roleName);
}

export function validateAccountId(name: string, value: string): void {
  requireMatch(name, value, ACCOUNT_ID_PATTERN, ALLOWED.accountId);
}

export function validateOrganizationalUnit(name: string, value: string): void {
  requireMatch(name, value, ORGANIZATIONAL_UNIT_PATTERN, ALLOWED.organizationalUnit);
}

export function validatePrincipalArn(name: string, value: string): void {
  requireMatch(name, value, PRINCIPAL_ARN_PATTERN, ALLOWED.principalArn);
}
