/**
 * An organization on moto with OUs, built by its management account: the layout the member-account tests share.
 *
 *   root
 *   ├── workloads            (the OU the StackSet targets)
 *   │   ├── workload         account
 *   │   ├── closed           account, SUSPENDED
 *   │   └── team             nested OU
 *   │       └── team-app     account
 *   └── sandbox
 *       └── sandbox          account
 */

import {
  CloseAccountCommand,
  CreateAccountCommand,
  CreateOrganizationalUnitCommand,
  CreateOrganizationCommand,
  ListRootsCommand,
  MoveAccountCommand,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';

export interface MotoOrganization {
  readonly rootId: string;
  readonly ous: { readonly workloads: string; readonly team: string; readonly sandbox: string };
  /** Account ids by name (moto picks them). */
  readonly accounts: {
    readonly workload: string;
    readonly closed: string;
    readonly teamApp: string;
    readonly sandbox: string;
  };
}

/** Builds the layout above with `client`, which must act as the management account. */
export async function createMotoOrganization(client: OrganizationsClient): Promise<MotoOrganization> {
  await client.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const { Roots = [] } = await client.send(new ListRootsCommand({}));
  const rootId = Roots[0]?.Id as string;
  const ou = async (parentId: string, name: string): Promise<string> => {
    const { OrganizationalUnit } = await client.send(
      new CreateOrganizationalUnitCommand({ ParentId: parentId, Name: name }),
    );
    return OrganizationalUnit?.Id as string;
  };
  const account = async (name: string, parentId: string): Promise<string> => {
    const { CreateAccountStatus } = await client.send(
      new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }),
    );
    const accountId = CreateAccountStatus?.AccountId as string;
    await client.send(
      new MoveAccountCommand({ AccountId: accountId, SourceParentId: rootId, DestinationParentId: parentId }),
    );
    return accountId;
  };
  const workloads = await ou(rootId, 'workloads');
  const team = await ou(workloads, 'team');
  const sandbox = await ou(rootId, 'sandbox');
  const accounts = {
    workload: await account('workload', workloads),
    closed: await account('closed', workloads),
    teamApp: await account('team-app', team),
    sandbox: await account('sandbox', sandbox),
  };
  await client.send(new CloseAccountCommand({ AccountId: accounts.closed }));
  return { rootId, ous: { workloads, team, sandbox }, accounts };
}
