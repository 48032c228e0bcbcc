/**
 * The init-time warm-up: it resolves credentials and runs every command through each client without a request
 * leaving the process, and leaves the clients as they were for the real calls.
 */

import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DeleteUserCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import type { AwsClients } from '../../functions/adapters/clients.ts';
import { createIamPort } from '../../functions/adapters/iam.ts';
import {
  NoCannedResponseError,
  prepareClients,
  WARM_UP,
  withCannedResponses,
} from '../../functions/adapters/warm-up.ts';
import { createDetector } from '../../functions/detector/handler.ts';
import { PRIMING_CONTEXT, PRIMING_EVENT } from '../../functions/detector/priming.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { type AwsProxy, startAwsProxy } from '../support/aws-proxy.ts';

const ENV_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };

let proxy: AwsProxy;

beforeAll(async () => {
  proxy = await startAwsProxy(inject('motoEndpoint'));
});

afterAll(async () => {
  await proxy.close();
});

beforeEach(() => {
  proxy.reset();
});

/** Clients pointed at the counting proxy, whose credentials come from `credentials`. */
function clientsWith(
  credentials: () => Promise<{ accessKeyId: string; secretAccessKey: string }>,
): AwsClients {
  const settings = { region: 'us-east-1', endpoint: proxy.endpoint, credentials, maxAttempts: 1 };
  return {
    iam: new IAMClient(settings),
    securityHub: new SecurityHubClient(settings),
    eventBridge: new EventBridgeClient(settings),
  };
}

const staticCredentials = () => Promise.resolve({ accessKeyId: 'test', secretAccessKey: 'test' });

describe('prepareClients', () => {
  it('runs the commands and the code it primes with through the clients and sends no request to AWS', async () => {
    const credentials = vi.fn(staticCredentials);
    const clients = clientsWith(credentials);
    const prime = vi.fn(() => createIamPort(clients.iam).readUser(WARM_UP.userName));

    const prepared = await prepareClients(clients, {
      notifications: true,
      deactivation: true,
      prime,
      env: ENV_CREDENTIALS,
    });

    expect(prepared).toBe(true);
    expect(credentials).toHaveBeenCalled();
    await expect(prime.mock.results[0]?.value).resolves.toMatchObject({
      user: { userName: WARM_UP.userName },
      keys: WARM_UP.accessKeyIds.map((accessKeyId) => ({ accessKeyId, status: 'Active' })),
    });
    expect(proxy.calls).toEqual([]);
  });

  it('leaves nothing on the clients: the next real call reaches AWS and gets the real answer', async () => {
    const clients = clientsWith(staticCredentials);
    await prepareClients(clients, { env: ENV_CREDENTIALS });

    const call = clients.iam.send(new ListAccessKeysCommand({ UserName: 'kw-warm-up-no-such-user' }));

    await expect(call).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    expect(proxy.countsByOperation()).toEqual({ 'iam.ListAccessKeys': 1 });
  });

  it('reports a prime that fails instead of throwing', async () => {
    const prepared = await prepareClients(clientsWith(staticCredentials), {
      prime: () => Promise.reject(new Error('engine changed')),
      env: ENV_CREDENTIALS,
    });

    expect(prepared).toBe(false);
    expect(proxy.calls).toEqual([]);
  });

  it('does nothing without credentials in the environment, where resolving them could need the network', async () => {
    const credentials = vi.fn(staticCredentials);

    const prepared = await prepareClients(clientsWith(credentials), { env: {} });

    expect(prepared).toBe(false);
    expect(credentials).not.toHaveBeenCalled();
    expect(proxy.calls).toEqual([]);
  });

  it('reports a failure instead of throwing, so the cold start goes on and the first event pays as before', async () => {
    const failing = () => Promise.reject(new Error('no credentials'));

    const prepared = await prepareClients(clientsWith(failing), { env: ENV_CREDENTIALS });

    expect(prepared).toBe(false);
    expect(proxy.calls).toEqual([]);
  });
});

describe('withCannedResponses', () => {
  it('refuses a command it has no answer for, rather than send it to AWS', async () => {
    const clients = clientsWith(staticCredentials);

    const call = withCannedResponses(clients, () =>
      clients.iam.send(new DeleteUserCommand({ UserName: WARM_UP.userName })),
    );

    await expect(call).rejects.toThrow(NoCannedResponseError);
    expect(proxy.calls).toEqual([]);
  });
});

describe('the detector on its priming event', () => {
  it('finds the canned violation end to end on the canned answers, without a request to AWS', async () => {
    const clients = clientsWith(staticCredentials);
    const detector = createDetector({
      config: loadConfig({}),
      clients,
      logger: createLogger('keywarden-test', 'SILENT'),
      sleep: async () => {},
    });

    const result = await withCannedResponses(clients, () => detector(PRIMING_EVENT, PRIMING_CONTEXT));

    expect(result).toMatchObject({ status: 'evaluated', verdict: 'violation', userName: WARM_UP.userName });
    expect(proxy.calls).toEqual([]);
  });
});
