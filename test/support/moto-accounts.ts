/** Seeding and inspecting other accounts of one moto server: each request carries `x-moto-account-id`. */

import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import { GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { type Finding, findingIdFor } from '../../functions/core/finding.ts';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

type BuildStep = (
  next: (args: { readonly request: unknown }) => Promise<unknown>,
) => (args: { readonly request: unknown }) => Promise<unknown>;

/** Makes `client` (any SDK client of moto) act in `accountId`: its requests carry `x-moto-account-id`. */
export function inMotoAccount<C extends { readonly middlewareStack: object }>(
  client: C,
  accountId: string,
): C {
  // Each client types its stack by its own commands; the header step needs none of them.
  const stack = client.middlewareStack as {
    add(step: BuildStep, options: { step: 'build'; name: string }): void;
  };
  stack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-moto-account-id'] = accountId;
      return next(args);
    },
    { step: 'build', name: 'motoAccount' },
  );
  return client;
}

/** Direct access to one account of moto, for seeding and for reading what the code under test left there. */
export class MotoAccount {
  readonly iam: IAMClient;
  readonly securityHub: SecurityHubClient;

  constructor(
    endpoint: string,
    readonly accountId: string,
  ) {
    const settings = { endpoint, region: REGION, credentials: CREDENTIALS };
    this.iam = inMotoAccount(new IAMClient(settings), accountId);
    this.securityHub = inMotoAccount(new SecurityHubClient(settings), accountId);
  }

  /** A user with `count` active keys (the last is the newest); returns the key ids in creation order. */
  async userWithKeys(userName: string, count: number, path?: string): Promise<string[]> {
    await this.iam.send(new CreateUserCommand({ UserName: userName, Path: path }));
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const { AccessKey } = await this.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
      ids.push(AccessKey?.AccessKeyId ?? '');
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    return ids;
  }

  async statusOf(userName: string): Promise<Record<string, string>> {
    const { AccessKeyMetadata = [] } = await this.iam.send(new ListAccessKeysCommand({ UserName: userName }));
    return Object.fromEntries(AccessKeyMetadata.map((key) => [key.AccessKeyId ?? '', key.Status ?? '']));
  }

  /** Every finding in this account's hub (moto ignores filters, so they are checked here). */
  async findings(): Promise<Finding[]> {
    const found: Finding[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.securityHub.send(
        new GetFindingsCommand({ MaxResults: 100, NextToken: nextToken }),
      );
      found.push(...(page.Findings ?? []));
      nextToken = page.NextToken || undefined;
    } while (nextToken !== undefined);
    return found;
  }

  /** Findings in this hub for `userName` of `ofAccount` (default this account). */
  async findingsOf(userName: string, ofAccount = this.accountId): Promise<Finding[]> {
    const id = findingIdFor(ofAccount, userName);
    return (await this.findings()).filter((finding) => finding.Id === id);
  }
}
