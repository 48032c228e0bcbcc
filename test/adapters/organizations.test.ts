import {
  AccessDeniedException,
  ListAccountsCommand,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  OrganizationsClient,
  ParentNotFoundException,
} from '@aws-sdk/client-organizations';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createOrganizationsPort, listMemberAccounts } from '../../functions/adapters/organizations.ts';
import type { MemberSelection } from '../../functions/core/members.ts';
import { AwsCallError } from '../../functions/shared/errors.ts';

const organizations = mockClient(OrganizationsClient);
const client = new OrganizationsClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});

const EVERY_ACCOUNT: MemberSelection = {
  ous: undefined,
  accountIds: undefined,
  centralAccountId: undefined,
  managementAccountId: undefined,
};
const WORKLOADS = 'ou-ab12-workload';
const TEAM = 'ou-ab12-teamteam';
const NESTED = 'ou-ab12-nestednest';

beforeEach(() => organizations.reset());
afterAll(() => organizations.restore());

describe('createOrganizationsPort', () => {
  it('lists the ACTIVE accounts of every page, sorted, by State and else by Status', async () => {
    organizations
      .on(ListAccountsCommand, { NextToken: undefined })
      .resolves({
        Accounts: [
          { Id: '444455556666', Name: 'prod', State: 'ACTIVE' },
          { Id: '777788889999', Name: 'closing', State: 'PENDING_CLOSURE', Status: 'ACTIVE' },
        ],
        NextToken: 'page-2',
      })
      .on(ListAccountsCommand, { NextToken: 'page-2' })
      .resolves({
        Accounts: [
          { Id: '111122223333', Name: 'dev', Status: 'ACTIVE' },
          { Id: '222233334444', Name: 'gone', Status: 'SUSPENDED' },
        ],
      });
    const { members } = await listMemberAccounts(createOrganizationsPort(client), EVERY_ACCOUNT, true);
    expect(members).toEqual([
      { accountId: '111122223333', name: 'dev' },
      { accountId: '444455556666', name: 'prod' },
    ]);
    expect(organizations.commandCalls(ListAccountsCommand)).toHaveLength(2);
  });

  it('throws an AwsCallError naming ListAccounts when the caller may not list accounts', async () => {
    organizations
      .on(ListAccountsCommand)
      .rejects(new AccessDeniedException({ message: 'not the management account', $metadata: {} }));
    const failure = createOrganizationsPort(client).listAccounts();
    await expect(failure).rejects.toBeInstanceOf(AwsCallError);
    await expect(failure).rejects.toThrow(/organizations:ListAccounts failed: AccessDeniedException/);
  });
});

describe('createOrganizationsPort: listAccountsUnder', () => {
  /** workloads ─┬─ 111…(ACTIVE), 222…(SUSPENDED) on two pages; team ─ nested ─ 333…; child OUs on two pages. */
  function organizationTree() {
    organizations
      .on(ListAccountsForParentCommand, { ParentId: WORKLOADS, NextToken: undefined })
      .resolves({ Accounts: [{ Id: '111111111111', Name: 'one', State: 'ACTIVE' }], NextToken: 'a2' })
      .on(ListAccountsForParentCommand, { ParentId: WORKLOADS, NextToken: 'a2' })
      .resolves({ Accounts: [{ Id: '222222222222', Name: 'closed', State: 'SUSPENDED' }] })
      .on(ListOrganizationalUnitsForParentCommand, { ParentId: WORKLOADS, NextToken: undefined })
      .resolves({ OrganizationalUnits: [{ Id: TEAM }], NextToken: 'o2' })
      .on(ListOrganizationalUnitsForParentCommand, { ParentId: WORKLOADS, NextToken: 'o2' })
      .resolves({ OrganizationalUnits: [] })
      .on(ListAccountsForParentCommand, { ParentId: TEAM })
      .resolves({ Accounts: [] })
      .on(ListOrganizationalUnitsForParentCommand, { ParentId: TEAM })
      .resolves({ OrganizationalUnits: [{ Id: NESTED }] })
      .on(ListAccountsForParentCommand, { ParentId: NESTED })
      .resolves({ Accounts: [{ Id: '333333333333', Name: 'deep', Status: 'ACTIVE' }] })
      .on(ListOrganizationalUnitsForParentCommand, { ParentId: NESTED })
      .resolves({ OrganizationalUnits: [] });
  }

  it('walks nested OUs through every page, each OU once, and keeps each account’s state', async () => {
    organizationTree();

    // The child OU named again: its tree is read once.
    const accounts = await createOrganizationsPort(client).listAccountsUnder([WORKLOADS, TEAM]);

    expect(accounts).toEqual([
      { accountId: '111111111111', name: 'one', state: 'ACTIVE' },
      { accountId: '222222222222', name: 'closed', state: 'SUSPENDED' },
      { accountId: '333333333333', name: 'deep', state: 'ACTIVE' },
    ]);
    expect(organizations.commandCalls(ListAccountsForParentCommand)).toHaveLength(4);
    expect(organizations.commandCalls(ListOrganizationalUnitsForParentCommand)).toHaveLength(4);
    expect(organizations.commandCalls(ListAccountsCommand)).toHaveLength(0);
  });

  it('gives the ACTIVE members under the OUs, nested included, never a SUSPENDED account', async () => {
    organizationTree();
    const selection = { ...EVERY_ACCOUNT, ous: [WORKLOADS] };

    const { members, leftOut } = await listMemberAccounts(createOrganizationsPort(client), selection, true);

    expect(members.map((account) => account.accountId)).toEqual(['111111111111', '333333333333']);
    expect(leftOut).toEqual([{ accountId: '222222222222', reason: 'not-active' }]);
  });

  it('throws an AwsCallError naming the action and the OU that does not exist', async () => {
    organizations
      .on(ListAccountsForParentCommand)
      .rejects(new ParentNotFoundException({ message: 'We can’t find a root or OU', $metadata: {} }));

    const failure = createOrganizationsPort(client).listAccountsUnder([WORKLOADS]);

    await expect(failure).rejects.toBeInstanceOf(AwsCallError);
    await expect(failure).rejects.toThrow(
      /organizations:ListAccountsForParent failed: ParentNotFoundException.*ou-ab12-workload/,
    );
  });

  it('reads nothing when the allow-list alone defines the members', async () => {
    const selection = { ...EVERY_ACCOUNT, accountIds: ['111111111111'], centralAccountId: '999999999999' };

    const { members } = await listMemberAccounts(createOrganizationsPort(client), selection, true);

    expect(members).toEqual([{ accountId: '111111111111', name: undefined }]);
    expect(organizations.calls()).toHaveLength(0);
  });
});
