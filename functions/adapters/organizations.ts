/** AWS Organizations: the accounts an organization-wide sweep or scan may cover, as Organizations lists them. */

import {
  type Account,
  ListAccountsCommand,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import {
  type ListedAccount,
  type MemberAccounts,
  type MemberSelection,
  memberAccounts,
  memberListing,
} from '../core/members.ts';
import { AwsCallError } from '../shared/errors.ts';
import { errorCode, errorMessage } from './clients.ts';

export type { MemberAccount as OrganizationAccount } from '../core/members.ts';

export interface OrganizationsPort {
  /** Every account of the organization, with its state, sorted by id (`ListAccounts`). */
  listAccounts(): Promise<ListedAccount[]>;
  /**
   * Every account under the given OUs or root, those of nested OUs included, each once, sorted by id
   * (`ListAccountsForParent` and `ListOrganizationalUnitsForParent` for each OU of the trees).
   */
  listAccountsUnder(parentIds: readonly string[]): Promise<ListedAccount[]>;
}

// `State` replaced `Status` in 2025; until `Status` is gone, an account without `State` is read by `Status`.
function listed(account: Account & { Id: string }): ListedAccount {
  return { accountId: account.Id, name: account.Name, state: account.State ?? account.Status };
}

const hasId = <T extends { Id?: string | undefined }>(item: T): item is T & { Id: string } =>
  item.Id !== undefined;

const byId = (a: ListedAccount, b: ListedAccount) => a.accountId.localeCompare(b.accountId);

/** Every page of a listing; a failed page throws an AwsCallError naming the action (and the OU, when one). */
async function allPages<T>(
  action: string,
  subject: string | undefined,
  page: (nextToken: string | undefined) => Promise<{ items: T[] | undefined; nextToken: string | undefined }>,
): Promise<T[]> {
  const items: T[] = [];
  let nextToken: string | undefined;
  do {
    let answer: Awaited<ReturnType<typeof page>>;
    try {
      answer = await page(nextToken);
    } catch (error) {
      const message = subject === undefined ? errorMessage(error) : `${subject}: ${errorMessage(error)}`;
      throw new AwsCallError(`organizations:${action}`, errorCode(error), message, { cause: error });
    }
    items.push(...(answer.items ?? []));
    nextToken = answer.nextToken;
  } while (nextToken !== undefined);
  return items;
}

/**
 * Organizations' listings work only in the management account or a delegated administrator; elsewhere they fail
 * with AccessDeniedException or AWSOrganizationsNotInUseException, thrown as an AwsCallError naming the action. An
 * OU id that does not exist fails with ParentNotFoundException, naming the OU.
 */
export function createOrganizationsPort(client: OrganizationsClient): OrganizationsPort {
  const accountsOf = (parentId: string) =>
    allPages('ListAccountsForParent', parentId, async (NextToken) => {
      const page = await client.send(new ListAccountsForParentCommand({ ParentId: parentId, NextToken }));
      return { items: page.Accounts, nextToken: page.NextToken };
    });
  const childOusOf = (parentId: string) =>
    allPages('ListOrganizationalUnitsForParent', parentId, async (NextToken) => {
      const page = await client.send(
        new ListOrganizationalUnitsForParentCommand({ ParentId: parentId, NextToken }),
      );
      return { items: page.OrganizationalUnits, nextToken: page.NextToken };
    });
  return {
    async listAccounts() {
      const accounts = await allPages('ListAccounts', undefined, async (NextToken) => {
        const page = await client.send(new ListAccountsCommand({ NextToken }));
        return { items: page.Accounts, nextToken: page.NextToken };
      });
      return accounts.filter(hasId).map(listed).sort(byId);
    },
    async listAccountsUnder(parentIds) {
      const accounts = new Map<string, ListedAccount>();
      const visited = new Set<string>();
      const pending = [...parentIds];
      // One OU at a time: Organizations throttles its whole API per account, shared with every other tool.
      for (let parentId = pending.shift(); parentId !== undefined; parentId = pending.shift()) {
        if (visited.has(parentId)) continue;
        visited.add(parentId);
        for (const account of (await accountsOf(parentId)).filter(hasId)) {
          accounts.set(account.Id, listed(account));
        }
        pending.push(...(await childOusOf(parentId)).filter(hasId).map((ou) => ou.Id));
      }
      return [...accounts.values()].sort(byId);
    },
  };
}

/**
 * The member accounts of `selection`: the listing {@link memberListing} plans (none without `canList`), read
 * through `port`, then {@link memberAccounts} decides. The sweep and the CLI both come here.
 */
export async function listMemberAccounts(
  port: OrganizationsPort,
  selection: MemberSelection,
  canList: boolean,
): Promise<MemberAccounts> {
  const listing = memberListing(selection, canList);
  const listed =
    listing.kind === 'organization'
      ? await port.listAccounts()
      : listing.kind === 'organizational-units'
        ? await port.listAccountsUnder(listing.ous)
        : undefined;
  return memberAccounts(selection, listing, listed);
}
