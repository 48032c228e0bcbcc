/** Turns the errors a scan can meet into one actionable sentence each. Pure. */

import { errorCode, errorMessage } from '../adapters/clients.ts';
import { AwsCallError, MemberRoleError } from '../shared/errors.ts';

export interface ErrorContext {
  readonly accountId: string | undefined;
  readonly region: string | undefined;
  /** The profile in use (`--profile` or AWS_PROFILE), known to exist (see checkProfile). */
  readonly profile?: string | undefined;
}

const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'AuthorizationError',
  'AuthorizationErrorException',
]);
const BAD_CREDENTIALS = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
]);
const NETWORK = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ETIMEDOUT',
  'ECONNRESET',
  'EAI_AGAIN',
  'TimeoutError',
]);
const REPORT_ACTIONS = new Set(['iam:GenerateCredentialReport', 'iam:GetCredentialReport']);
const SERVICE_OF_OPERATION: Readonly<Record<string, string>> = {
  GetFindings: 'securityhub',
  BatchImportFindings: 'securityhub',
  GetCallerIdentity: 'sts',
  PutEvents: 'events',
};

/** The operation and code of an error, looking through AwsCallError to the SDK error. */
function describeCall(error: unknown): { operation: string | undefined; code: string; message: string } {
  if (error instanceof MemberRoleError) {
    return { operation: 'sts:AssumeRole', code: error.code, message: errorMessage(error.cause ?? error) };
  }
  if (error instanceof AwsCallError) {
    return { operation: error.operation, code: error.code, message: errorMessage(error.cause ?? error) };
  }
  return { operation: undefined, code: errorCode(error), message: errorMessage(error) };
}

/** Organizations' listings, which only the management account or a delegated administrator may call. */
const ORGANIZATION_LISTINGS = new Set([
  'organizations:ListAccounts',
  'organizations:ListAccountsForParent',
  'organizations:ListOrganizationalUnitsForParent',
]);

/** The IAM action that was denied: from AWS's message when it names it, else from the operation. */
export function deniedPermission(operation: string | undefined, message: string): string | undefined {
  const named = /not authorized to perform:?\s+([a-z0-9-]+:[A-Za-z0-9*]+)/.exec(message)?.[1];
  if (named !== undefined) return named;
  if (operation === undefined) return undefined;
  // Some adapters name the action itself (`organizations:ListAccounts`).
  if (operation.includes(':')) return operation;
  return `${SERVICE_OF_OPERATION[operation] ?? 'iam'}:${operation}`;
}

/** One line for the terminal, saying what went wrong and what to do. */
export function describeError(error: unknown, context: ErrorContext): string {
  const { operation, code, message } = describeCall(error);
  const name = error instanceof Error ? error.name : code;
  if ([name, code].includes('CredentialsProviderError') || /could not load credentials/i.test(message)) {
    if (context.profile !== undefined) {
      return `No AWS credentials from profile ${JSON.stringify(context.profile)}: run \`aws sso login --profile ${context.profile}\` if it uses SSO, or check its settings (aws configure list --profile ${context.profile}).`;
    }
    return 'No AWS credentials found: pass --profile NAME, set AWS_PROFILE, run `aws sso login`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.';
  }
  if (/region is missing/i.test(message)) {
    return 'No AWS region: pass --region REGION or set AWS_REGION (IAM is global; the region is where findings go).';
  }
  if (BAD_CREDENTIALS.has(code)) {
    return `AWS rejected the credentials (${code}): they are expired or invalid; refresh them (for example \`aws sso login\`) and retry.`;
  }
  if (code === 'InvalidAccessException' || /not subscribed to (aws )?security hub/i.test(message)) {
    const where = `account ${context.accountId ?? '?'} in ${context.region ?? 'this region'}`;
    return `Security Hub CSPM is not enabled for ${where}: enable it (aws securityhub enable-security-hub --region ${context.region ?? 'REGION'}), pick its region with --region, or scan without --import-findings.`;
  }
  const origin = error instanceof AwsCallError || error instanceof MemberRoleError ? error.cause : error;
  const unreachable =
    NETWORK.has(code) || NETWORK.has((origin as { code?: unknown } | undefined)?.code as string);
  if (error instanceof MemberRoleError && !unreachable) {
    return `Could not assume the member role ${error.roleArn} (${code}: ${message}): check that the role exists in account ${error.accountId}, that it trusts the caller, and that the caller may call sts:AssumeRole on it.`;
  }
  if (code === 'AWSOrganizationsNotInUseException') {
    return "The caller's account is not in an organization (AWSOrganizationsNotInUseException): name the accounts with --accounts instead of --organization.";
  }
  if (code === 'ParentNotFoundException') {
    // The AwsCallError's own message names the OU; AWS's does not.
    const detail = error instanceof AwsCallError ? error.message : `${code}: ${message}`;
    return `An OU of --ous is not in the caller's organization (${detail}): check the OU ids (aws organizations list-organizational-units-for-parent).`;
  }
  if (ACCESS_DENIED.has(code) || /not authorized to perform/i.test(message)) {
    if (operation !== undefined && ORGANIZATION_LISTINGS.has(operation)) {
      return `Access denied: the credentials in use may not call ${operation}, which works only in the management account or a delegated administrator for AWS Organizations; run there, or name the accounts with --accounts.`;
    }
    const permission = deniedPermission(operation, message);
    return permission === undefined
      ? `Access denied: ${message}`
      : `Access denied: the credentials in use may not call ${permission}; grant it (see the permissions in docs/cli.md) and retry${REPORT_ACTIONS.has(permission) ? ', or list users live with --full' : ''}.`;
  }
  if (unreachable) {
    return `Could not reach AWS (${message}): check the network, any proxy, and AWS_ENDPOINT_URL if set.`;
  }
  if (error instanceof Error && error.name !== 'Error') return `${error.name}: ${error.message}`;
  return message;
}
