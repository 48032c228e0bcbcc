import {
  AccessDeniedException,
  ListAccountsCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createOrganizationsPort } from '../../functions/adapters/organizations.ts';
import { AwsCallError } from '../../functions/shared/errors.ts';

const organizations = mockClient(OrganizationsClient);
const client = new OrganizationsClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});

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
    const accounts = await createOrganizationsPort(client).listActiveAccounts();
    expect(accounts).toEqual([
      { accountId: '111122223333', name: 'dev' },
      { accountId: '444455556666', name: 'prod' },
    ]);
    expect(organizations.commandCalls(ListAccountsCommand)).toHaveLength(2);
  });

  it('throws an AwsCallError naming ListAccounts when the caller may not list accounts', async () => {
    organizations
      .on(ListAccountsCommand)
      .rejects(new AccessDeniedException({ message: 'not the management account', $metadata: {} }));
    const failure = createOrganizationsPort(client).listActiveAccounts();
    await expect(failure).rejects.toBeInstanceOf(AwsCallError);
    await expect(failure).rejects.toThrow(/organizations:ListAccounts failed: AccessDeniedException/);
  });
});
