/**
 * The SDK clients' settings are deliberate, and the SDK's own retries really happen: faults are injected by the
 * proxy in front of moto (aws-sdk-client-mock replaces `send`, so the retry middleware never runs under it).
 */

import { GetFindingsCommand, ThrottlingException } from '@aws-sdk/client-securityhub';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { CLIENT_SETTINGS, createClients, errorCode, isThrottling } from '../../functions/adapters/clients.ts';
import { createIamPort } from '../../functions/adapters/iam.ts';
import { createNotifier } from '../../functions/adapters/notify.ts';
import { createFindingsPort } from '../../functions/adapters/securityhub.ts';
import { evaluateUser } from '../../functions/core/evaluate.ts';
import { buildFinding } from '../../functions/core/finding.ts';
import { AwsCallError } from '../../functions/shared/errors.ts';
import { ACCOUNT, EVENT_TRIGGER, NEW_KEY, NOW, OLD_KEY, POLICY, snapshot } from '../core/builders.ts';
import { MotoAdmin, pointSdkAt } from '../detector/moto-helpers.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { type AwsProxy, startAwsProxy } from '../support/aws-proxy.ts';

let proxy: AwsProxy;
let moto: MotoAdmin;

beforeAll(async () => {
  const endpoint = inject('motoEndpoint');
  moto = new MotoAdmin(endpoint);
  proxy = await startAwsProxy(endpoint);
  pointSdkAt(proxy.endpoint);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await proxy.close();
});

beforeEach(() => {
  proxy.reset();
  proxy.clearFaults();
});

describe('createClients', () => {
  it('configures every client with 4 attempts in standard retry mode and the KeyWarden user agent', async () => {
    const clients = createClients();
    for (const client of [clients.iam, clients.securityHub, clients.eventBridge]) {
      expect(await client.config.maxAttempts()).toBe(4);
      const strategy = (await client.config.retryStrategy()) as { mode?: string };
      expect(strategy.constructor.name).toBe(
        // Security Hub's throttling is left to the findings port.
        client === clients.securityHub ? 'ThrottlingToCallerRetryStrategy' : 'StandardRetryStrategy',
      );
      expect(strategy.mode).toBe('standard');
      expect(client.config.customUserAgent).toEqual([['keywarden/0.1.0']]);
    }
    expect(CLIENT_SETTINGS.requestHandler).toMatchObject({
      connectionTimeout: 3_000,
      requestTimeout: 10_000,
    });
  });

  it('lets the CLI lower the attempts, pick a region and sign with another user agent', async () => {
    const clients = createClients({ maxAttempts: 1, region: 'eu-west-1', userAgent: 'keywarden-cli/0.1.0' });
    expect(await clients.iam.config.maxAttempts()).toBe(1);
    expect(await clients.securityHub.config.region()).toBe('eu-west-1');
    expect(clients.iam.config.customUserAgent).toEqual([['keywarden-cli/0.1.0']]);
  });

  it('sends the KeyWarden marker in the user agent, which CloudTrail records', async () => {
    const userName = moto.uniqueName('kw-clients-ua');
    await moto.createUser(userName);
    const clients = createClients();
    const agents: string[] = [];
    clients.iam.middlewareStack.add(
      (next) => async (args) => {
        agents.push((args.request as { headers: Record<string, string> }).headers['user-agent'] ?? '');
        return next(args);
      },
      { step: 'finalizeRequest', name: 'captureUserAgent' },
    );

    await createIamPort(clients.iam).listKeys(userName);

    expect(agents).toHaveLength(1);
    expect(agents[0]).toMatch(/^aws-sdk-js\/\S+ .* keywarden\/0\.1\.0$/);
  });
});

describe('SDK retries through the clients', () => {
  it('retries IAM throttling and succeeds', async () => {
    const userName = moto.uniqueName('kw-clients-throttle');
    await moto.userWithKeys(userName, 1);
    proxy.inject({ operation: 'iam.ListAccessKeys', status: 400, code: 'Throttling', times: 1 });

    const keys = await createIamPort(createClients().iam).listKeys(userName);

    expect(keys).toHaveLength(1);
    expect(proxy.count('iam.ListAccessKeys')).toBe(2);
  });

  it('retries an IAM server error until the 4th attempt succeeds', async () => {
    const userName = moto.uniqueName('kw-clients-500');
    await moto.userWithKeys(userName, 1);
    proxy.inject({ operation: 'iam.ListAccessKeys', status: 500, code: 'ServiceFailure', times: 3 });

    const keys = await createIamPort(createClients().iam).listKeys(userName);

    expect(keys).toHaveLength(1);
    expect(proxy.count('iam.ListAccessKeys')).toBe(4);
  });

  it('gives up after 4 attempts and throws AwsCallError with the AWS code', async () => {
    const userName = moto.uniqueName('kw-clients-down');
    await moto.createUser(userName);
    proxy.inject({ operation: 'iam.GetUser', status: 500, code: 'ServiceFailure' });

    const error = await createIamPort(createClients().iam)
      .readUser(userName)
      .then(
        () => undefined,
        (e: unknown) => e,
      );

    expect(error).toBeInstanceOf(AwsCallError);
    expect((error as AwsCallError).code).toBe('ServiceFailure');
    expect(proxy.count('iam.GetUser')).toBe(4);
  });

  it('does not retry a client error such as NoSuchEntity', async () => {
    const userName = moto.uniqueName('kw-clients-missing');

    expect(await createIamPort(createClients().iam).listKeys(userName)).toBeUndefined();
    expect(proxy.count('iam.ListAccessKeys')).toBe(1);
  });

  it('hands Security Hub throttling straight back: one request, the ThrottlingException reaches the caller', async () => {
    proxy.inject({
      operation: 'securityhub.GetFindings',
      status: 429,
      code: 'ThrottlingException',
      times: 1,
    });

    const error = await createClients()
      .securityHub.send(new GetFindingsCommand({ MaxResults: 1 }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );

    expect(error).toBeInstanceOf(ThrottlingException);
    expect(proxy.count('securityhub.GetFindings')).toBe(1);
  });

  it('retries a Security Hub server error until the 4th attempt succeeds', async () => {
    proxy.inject({ operation: 'securityhub.GetFindings', status: 500, code: 'InternalException', times: 3 });

    const page = await createClients().securityHub.send(new GetFindingsCommand({ MaxResults: 1 }));

    expect(page.$metadata.attempts).toBe(4);
    expect(proxy.count('securityhub.GetFindings')).toBe(4);
  });

  it('gives up a Security Hub server error after 4 attempts, as for IAM', async () => {
    proxy.inject({ operation: 'securityhub.GetFindings', status: 500, code: 'InternalException' });

    await expect(
      createClients().securityHub.send(new GetFindingsCommand({ MaxResults: 1 })),
    ).rejects.toThrow();
    expect(proxy.count('securityhub.GetFindings')).toBe(4);
  });

  it('the findings port retries Security Hub throttling (429) and imports the finding', async () => {
    const userName = moto.uniqueName('kw-clients-hub');
    const evaluation = evaluateUser(userName, snapshot([OLD_KEY, NEW_KEY], { userName }), POLICY, NOW);
    if (evaluation.verdict === 'user-gone') throw new Error('unexpected');
    const finding = buildFinding({
      account: ACCOUNT,
      evaluation,
      action: { kind: 'none' },
      trigger: EVENT_TRIGGER,
      updatedAt: NOW,
    });
    expectValidAsff(finding);
    proxy.inject({
      operation: 'securityhub.BatchImportFindings',
      status: 429,
      code: 'ThrottlingException',
      times: 1,
    });

    await createFindingsPort(createClients().securityHub, { accountId: ACCOUNT.accountId }).importFindings([
      finding,
    ]);

    expect(proxy.count('securityhub.BatchImportFindings')).toBe(2);
    expect(await moto.findingsOf(userName)).toEqual([finding]);
  });

  it('retries EventBridge throttling when notifying', async () => {
    proxy.inject({ operation: 'events.PutEvents', status: 400, code: 'ThrottlingException', times: 1 });

    await createNotifier(createClients().eventBridge, 'default').notify({
      outcome: 'Violation Detected',
      detail: { userName: 'nobody' },
    });

    expect(proxy.count('events.PutEvents')).toBe(2);
  });
});

describe('isThrottling', () => {
  it.each([
    {
      error: new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }),
      throttling: true,
    },
    { error: { name: 'LimitExceededException', $metadata: { httpStatusCode: 429 } }, throttling: true },
    { error: { name: 'Throttling', $metadata: { httpStatusCode: 400 } }, throttling: true },
    { error: { name: 'TooManyRequestsException', $metadata: {} }, throttling: true },
    { error: { name: 'SlowDown', $retryable: { throttling: true } }, throttling: true },
    { error: { name: 'InternalException', $metadata: { httpStatusCode: 500 } }, throttling: false },
    { error: { name: 'InvalidInputException', $metadata: { httpStatusCode: 400 } }, throttling: false },
    { error: { name: 'LimitExceededException', $metadata: { httpStatusCode: 400 } }, throttling: false },
    { error: new Error('socket hang up'), throttling: false },
    { error: 'Throttling', throttling: false },
  ])('is $throttling for $error.name', ({ error, throttling }) => {
    expect(isThrottling(error)).toBe(throttling);
  });
});

describe('errorCode', () => {
  it.each([
    { error: { name: 'NoSuchEntityException' }, code: 'NoSuchEntityException' },
    { error: { Code: 'Throttling', name: 'Error' }, code: 'Throttling' },
    { error: { code: 'ECONNRESET' }, code: 'ECONNRESET' },
    { error: 'boom', code: 'UnknownError' },
    { error: null, code: 'UnknownError' },
  ])('reads $code', ({ error, code }) => {
    expect(errorCode(error)).toBe(code);
  });
});
