/** Which account, partition and region the code runs in. */

import type { AccountContext } from '../core/types.ts';
import { ConfigError } from '../shared/errors.ts';

const FUNCTION_ARN = /^arn:([\w-]+):lambda:([a-z0-9-]+):(\d{12}):function:/;

/** From a Lambda context's invokedFunctionArn; undefined when there is none (local runs). */
export function accountFromFunctionArn(arn: string | undefined): AccountContext | undefined {
  const match = arn === undefined ? null : FUNCTION_ARN.exec(arn);
  if (match === null) return undefined;
  const [, partition, region, accountId] = match as unknown as [string, string, string, string];
  return { partition, region, accountId };
}

/** From STS GetCallerIdentity, for the CLI and local runs. STS is loaded only here, off the Lambda's cold path. */
export async function accountFromCaller(
  region: string | undefined,
  profile?: string,
): Promise<AccountContext> {
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const sts = new STSClient({
    ...(region ? { region } : {}),
    ...(profile ? { profile } : {}),
    maxAttempts: 4,
  });
  const identity = await sts.send(new GetCallerIdentityCommand({}));
  const resolvedRegion = region ?? (await sts.config.region());
  const arn = /^arn:([\w-]+):/.exec(identity.Arn ?? '');
  if (identity.Account === undefined || arn === null || !resolvedRegion) {
    throw new ConfigError('could not determine the account, partition or region from STS GetCallerIdentity');
  }
  return { accountId: identity.Account, partition: arn[1] as string, region: resolvedRegion };
}

/**
 * Resolves the account of each invocation: from the Lambda context's function ARN, else once from STS (cached,
 * and forgotten after a failure so the next invocation tries again).
 */
export function accountResolver(
  region: string | undefined,
): (context: { invokedFunctionArn?: string } | undefined) => Promise<AccountContext> {
  let fromCaller: Promise<AccountContext> | undefined;
  return async (context) => {
    const fromArn = accountFromFunctionArn(context?.invokedFunctionArn);
    if (fromArn !== undefined) return fromArn;
    fromCaller ??= accountFromCaller(region).catch((error: unknown) => {
      fromCaller = undefined;
      throw error;
    });
    return fromCaller;
  };
}

/** The caller's ARN and account, from STS GetCallerIdentity: the restore names who restored a key. */
export async function callerIdentity(
  region: string | undefined,
  profile?: string,
): Promise<{ readonly account: AccountContext; readonly arn: string }> {
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const sts = new STSClient({
    ...(region ? { region } : {}),
    ...(profile ? { profile } : {}),
    maxAttempts: 4,
  });
  const identity = await sts.send(new GetCallerIdentityCommand({}));
  const resolvedRegion = region ?? (await sts.config.region());
  const partition = /^arn:([\w-]+):/.exec(identity.Arn ?? '')?.[1];
  if (
    identity.Account === undefined ||
    identity.Arn === undefined ||
    partition === undefined ||
    !resolvedRegion
  ) {
    throw new ConfigError('could not determine the caller, partition or region from STS GetCallerIdentity');
  }
  return { account: { accountId: identity.Account, partition, region: resolvedRegion }, arn: identity.Arn };
}
