/** IAM reads and the one write KeyWarden makes, mapped into domain types. */

import {
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  type IAMClient,
  ListAccessKeysCommand,
  type ListAccessKeysCommandOutput,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import type { AccessKey, IamUser, KeyLastUsed, UserSnapshot } from '../core/types.ts';
import { AwsCallError } from '../shared/errors.ts';
import { errorCode, errorMessage } from './clients.ts';

export interface IamPort {
  /** GetUser and ListAccessKeys; undefined when the user does not exist. */
  readUser(userName: string): Promise<UserSnapshot | undefined>;
  /** ListAccessKeys; undefined when the user does not exist. */
  listKeys(userName: string): Promise<AccessKey[] | undefined>;
  lastUsed(accessKeyId: string): Promise<KeyLastUsed>;
  /**
   * The name of the user that holds the key now (GetAccessKeyLastUsed's UserName), which follows a rename;
   * undefined when IAM knows no such key (NoSuchEntity) or names no user.
   */
  keyOwner(accessKeyId: string): Promise<string | undefined>;
  deactivate(userName: string, accessKeyId: string): Promise<void>;
  /** Re-activates a key KeyWarden deactivated (undoing a deactivation that left no key active). */
  reactivate(userName: string, accessKeyId: string): Promise<void>;
}

const NOT_USED = 'N/A';

function wrap(operation: string, error: unknown): AwsCallError {
  return new AwsCallError(operation, errorCode(error), errorMessage(error), { cause: error });
}

const isNoSuchEntity = (error: unknown): boolean =>
  errorCode(error) === 'NoSuchEntityException' || errorCode(error) === 'NoSuchEntity';

export function createIamPort(client: IAMClient): IamPort {
  return {
    listKeys: (userName) => listKeys(client, userName),
    async readUser(userName) {
      const [user, keys] = await Promise.all([getUser(client, userName), listKeys(client, userName)]);
      if (user === undefined || keys === undefined) return undefined;
      return { user, keys };
    },
    lastUsed: (accessKeyId) => lastUsed(client, accessKeyId),
    keyOwner: (accessKeyId) => keyOwner(client, accessKeyId),
    deactivate: (userName, accessKeyId) => setStatus(client, userName, accessKeyId, 'Inactive'),
    reactivate: (userName, accessKeyId) => setStatus(client, userName, accessKeyId, 'Active'),
  };
}

/** The user's keys, every page; undefined when the user does not exist. */
async function listKeys(client: IAMClient, userName: string): Promise<AccessKey[] | undefined> {
  const keys: AccessKey[] = [];
  let marker: string | undefined;
  try {
    do {
      const page: ListAccessKeysCommandOutput = await client.send(
        new ListAccessKeysCommand({ UserName: userName, Marker: marker }),
      );
      for (const key of page.AccessKeyMetadata ?? []) {
        if (key.AccessKeyId === undefined) continue;
        keys.push({
          accessKeyId: key.AccessKeyId,
          status: key.Status ?? 'Unknown',
          createDate: key.CreateDate ?? new Date(0),
        });
      }
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker !== undefined);
  } catch (error) {
    if (isNoSuchEntity(error)) return undefined;
    throw wrap('ListAccessKeys', error);
  }
  return keys;
}

async function getUser(client: IAMClient, userName: string): Promise<IamUser | undefined> {
  try {
    const { User: user } = await client.send(new GetUserCommand({ UserName: userName }));
    if (user?.UserName === undefined || user.Arn === undefined) {
      throw new AwsCallError('GetUser', 'InvalidResponse', `no user in the response for ${userName}`);
    }
    return {
      userName: user.UserName,
      userId: user.UserId ?? '',
      arn: user.Arn,
      path: user.Path ?? '/',
      createDate: user.CreateDate ?? new Date(0),
      tags: Object.fromEntries((user.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
    };
  } catch (error) {
    if (isNoSuchEntity(error)) return undefined;
    if (error instanceof AwsCallError) throw error;
    throw wrap('GetUser', error);
  }
}

async function lastUsed(client: IAMClient, accessKeyId: string) {
  try {
    const { AccessKeyLastUsed: used } = await client.send(
      new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId }),
    );
    return {
      date: used?.LastUsedDate,
      serviceName: used?.ServiceName && used.ServiceName !== NOT_USED ? used.ServiceName : undefined,
      region: used?.Region && used.Region !== NOT_USED ? used.Region : undefined,
    };
  } catch (error) {
    throw wrap('GetAccessKeyLastUsed', error);
  }
}

/** The user holding the key now (a rename does not change a key's id); undefined when IAM does not know it. */
async function keyOwner(client: IAMClient, accessKeyId: string): Promise<string | undefined> {
  try {
    const { UserName: owner } = await client.send(
      new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId }),
    );
    return owner || undefined;
  } catch (error) {
    if (isNoSuchEntity(error)) return undefined;
    throw wrap('GetAccessKeyLastUsed', error);
  }
}

async function setStatus(
  client: IAMClient,
  userName: string,
  accessKeyId: string,
  status: 'Active' | 'Inactive',
): Promise<void> {
  try {
    await client.send(
      new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: status }),
    );
  } catch (error) {
    throw wrap('UpdateAccessKey', error);
  }
}
