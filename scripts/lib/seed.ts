/** Creates IAM users and access keys in the emulator, in parallel with a bound. */

import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  type IAMClient,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
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
