/** Creates IAM users and access keys in the emulator, in parallel with a bound. */

import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  type IAMClient,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { keyUseRecords } from '../../test/support/trail-records.ts';
import { mapLimit } from './emulator.ts';

export interface UserSpec {
  readonly userName: string;
  /** Access keys to create, oldest first. */
  readonly keys: number;
  /** How many of the keys, oldest first, to deactivate after creating them. */
  readonly inactive?: number;
  readonly tags?: Readonly<Record<string, string>>;
}

export interface SeededUser {
  readonly userName: string;
  /** Oldest first. */
  readonly accessKeyIds: readonly string[];
}

export async function createUser(iam: IAMClient, spec: UserSpec): Promise<SeededUser> {
  await iam.send(
    new CreateUserCommand({
      UserName: spec.userName,
      Tags: Object.entries(spec.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  const accessKeyIds: string[] = [];
  for (let index = 0; index < spec.keys; index++) {
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: spec.userName }));
    if (AccessKey?.AccessKeyId === undefined)
      throw new Error(`CreateAccessKey returned no key for ${spec.userName}`);
    accessKeyIds.push(AccessKey.AccessKeyId);
  }
  for (const accessKeyId of accessKeyIds.slice(0, spec.inactive ?? 0)) {
    await iam.send(
      new UpdateAccessKeyCommand({ UserName: spec.userName, AccessKeyId: accessKeyId, Status: 'Inactive' }),
    );
  }
  return { userName: spec.userName, accessKeyIds };
}

/** Creates every user, at most `concurrency` at a time; results keep the order of `specs`. */
export function seedUsers(
  iam: IAMClient,
  specs: readonly UserSpec[],
  concurrency = 16,
): Promise<SeededUser[]> {
  return mapLimit(specs, concurrency, (spec) => createUser(iam, spec));
}

/** Management events an application signed with each violator's oldest key in the last hour. */
export const APPLICATION_CALLS = 30;

/**
 * CloudTrail's records of an application using the oldest key of each user with two or more keys: what the test
 * proxy's LookupEvents serves (moto answers it 500), so a violation's usage evidence reads one realistic page.
 */
export function applicationUse(users: readonly SeededUser[], accountId: string): Record<string, unknown>[] {
  const endedAt = new Date();
  return users.flatMap((user) => {
    const [oldest] = user.accessKeyIds;
    if (user.accessKeyIds.length < 2 || oldest === undefined) return [];
    return keyUseRecords({
      accessKeyId: oldest,
      userName: user.userName,
      accountId,
      calls: APPLICATION_CALLS,
      endedAt,
    });
  });
}
