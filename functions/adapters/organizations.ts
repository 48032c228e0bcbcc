/** AWS Organizations: the accounts an organization-wide sweep or scan covers. */

import {
  type Account,
  ListAccountsCommand,
  type ListAccountsCommandOutput,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { AwsCallError } from '../shared/errors.ts';
import { errorCode, errorMessage } from './clients.ts';

export interface OrganizationAccount {
  readonly accountId: string;
  readonly name: string | undefined;
}

export interface OrganizationsPort {
  /** Every ACTIVE account of the organization, sorted by id; suspended and closing accounts are left out. */
  listActiveAccounts(): Promise<OrganizationAccount[]>;
}

// `State` replaced `Status` in 2025; until `Status` is gone, an account without `State` is read by `Status`.
function isActive(account: Account): boolean {
  return (account.State ?? account.Status) === 'ACTIVE';
}

/**
 * ListAccounts works only in the management account or a delegated administrator for Organizations; elsewhere it
 * fails with AccessDeniedException or AWSOrganizationsNotInUseException, thrown as an AwsCallError naming it.
 */
export function createOrganizationsPort(client: OrganizationsClient): OrganizationsPort {
  return {
    async listActiveAccounts() {
      const accounts: OrganizationAccount[] = [];
      let nextToken: string | undefined;
      do {
        let page: ListAccountsCommandOutput;
        try {
          page = await client.send(new ListAccountsCommand({ NextToken: nextToken }));
        } catch (error) {
          throw new AwsCallError('organizations:ListAccounts', errorCode(error), errorMessage(error), {
            cause: error,
          });
        }
        for (const account of page.Accounts ?? []) {
          if (account.Id !== undefined && isActive(account)) {
            accounts.push({ accountId: account.Id, name: account.Name });
          }
        }
        nextToken = page.NextToken;
      } while (nextToken !== undefined);
      return accounts.sort((a, b) => a.accountId.localeCompare(b.accountId));
    },
  };
}
