/**
 * The bench's organization on moto, built by its management account: the member OU `workloads` with a nested OU
 * `team`, the member accounts split between them, and a `sandbox` OU outside the StackSet's targets whose accounts
 * the sweep must not queue.
 */

import {
  CreateAccountCommand,
  CreateOrganizationalUnitCommand,
  CreateOrganizationCommand,
  ListRootsCommand,
  MoveAccountCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { clientConfig } from './emulator.ts';

export interface BenchOrganization {
  /** The OU the StackSet targets (MEMBER_OUS). */
  readonly memberOu: string;
  /** How many OUs the sweep walks: the member OU and the one nested in it. */
  readonly ousWalked: number;
  /** The accounts under the member OU, by id. */
  readonly memberIds: readonly string[];
  /** The accounts of the sandbox OU, outside the member OU. */
  readonly outsideIds: readonly string[];
}

/** Creates the organization of `managementAccountId` with `members` accounts under the member OU. */
export async function createBenchOrganization(
  endpoint: string,
  managementAccountId: string,
  members: number,
  outside: number,
): Promise<BenchOrganization> {
  const client = new OrganizationsClient(clientConfig(endpoint));
  client.middlewareStack.add(
    (next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-moto-account-id'] =
        managementAccountId;
      return next(args);
    },
    { step: 'build', name: 'managementAccount' },
  );
  try {
    await client.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const { Roots = [] } = await client.send(new ListRootsCommand({}));
    const rootId = Roots[0]?.Id as string;
    const ou = async (ParentId: string, Name: string) =>
      (await client.send(new CreateOrganizationalUnitCommand({ ParentId, Name }))).OrganizationalUnit
        ?.Id as string;
    const account = async (name: string, parentId: string) => {
      const { CreateAccountStatus } = await client.send(
        new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }),
      );
      const accountId = CreateAccountStatus?.AccountId as string;
      await client.send(
        new MoveAccountCommand({
          AccountId: accountId,
          SourceParentId: rootId,
          DestinationParentId: parentId,
        }),
      );
      return accountId;
    };
    const memberOu = await ou(rootId, 'workloads');
    const team = await ou(memberOu, 'team');
    const sandbox = await ou(rootId, 'sandbox');
    const memberIds: string[] = [];
    for (let n = 0; n < members; n++) {
      memberIds.push(await account(`member-${n}`, n % 2 === 0 ? memberOu : team));
    }
    const outsideIds: string[] = [];
    for (let n = 0; n < outside; n++) outsideIds.push(await account(`sandbox-${n}`, sandbox));
    return { memberOu, ousWalked: 2, memberIds, outsideIds };
  } finally {
    client.destroy();
  }
}
