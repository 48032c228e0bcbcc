/**
 * The member accounts as the sweep sees them: Organizations, read through the read-only role in the management
 * account (`ORGANIZATION_ROLE_ARN`), which the sweep assumes for each listing.
 */

import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, type AssumeRoleCommandOutput, STSClient } from '@aws-sdk/client-sts';
import type { MemberAccounts, MemberSelection } from '../core/members.ts';
import { AwsCallError } from '../shared/errors.ts';
import { CLIENT_SETTINGS, errorCode, errorMessage } from './clients.ts';
import { createOrganizationsPort, listMemberAccounts } from './organizations.ts';

export interface OrganizationReaderOptions {
  readonly roleArn: string;
  /** Names the sweep in the management account's CloudTrail. */
  readonly sessionName: string;
  /** The region of the Organizations client (the SDK resolves the partition's global endpoint). */
  readonly region: string | undefined;
  /** Which accounts are members (the StackSet's OUs, the allow-list, the central and management accounts). */
  readonly selection: MemberSelection;
  /** Default: an STS client with the standard settings. */
  readonly sts?: STSClient;
}

// Fifteen minutes, the least STS allows: one listing takes seconds.
const SESSION_SECONDS = 900;

/** The member accounts; throws AwsCallError naming `sts:AssumeRole` or the `organizations:` listing that failed. */
export async function listMembersThroughReader(options: OrganizationReaderOptions): Promise<MemberAccounts> {
  const sts =
    options.sts ??
    new STSClient({ ...CLIENT_SETTINGS, ...(options.region ? { region: options.region } : {}) });
  let assumed: AssumeRoleCommandOutput;
  try {
    assumed = await sts.send(
      new AssumeRoleCommand({
        RoleArn: options.roleArn,
        RoleSessionName: options.sessionName,
        DurationSeconds: SESSION_SECONDS,
      }),
    );
  } catch (error) {
    throw new AwsCallError('sts:AssumeRole', errorCode(error), `${options.roleArn}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const credentials = assumed.Credentials;
  if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken) {
    throw new AwsCallError(
      'sts:AssumeRole',
      'NoCredentials',
      `${options.roleArn}: AssumeRole returned no credentials`,
    );
  }
  const client = new OrganizationsClient({
    ...CLIENT_SETTINGS,
    ...(options.region ? { region: options.region } : {}),
    credentials: {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.SessionToken,
    },
  });
  try {
    return await listMemberAccounts(createOrganizationsPort(client), options.selection, true);
  } finally {
    client.destroy();
  }
}
