/**
 * The init-time warm-up: it resolves credentials and runs every command through each client without a request
 * leaving the process, and leaves the clients as they were for the real calls.
 */

import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import type { AwsClients } from '../../functions/adapters/clients.ts';
import { prepareClients } from '../../functions/adapters/warm-up.ts';
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
  it('runs every command through the clients and sends no request', async () => {
    const credentials = vi.fn(staticCredentials);
    const clients = clientsWith(credentials);

    const prepared = await prepareClients(clients, { notifications: true, env: ENV_CREDENTIALS });

    expect(prepared).toBe(true);
    expect(credentials).toHaveBeenCalled();
    expect(proxy.calls).toEqual([]);
  });

  it('leaves nothing on the clients: the next real call reaches AWS and gets the real answer', async () => {
    const clients = clientsWith(staticCredentials);
    await prepareClients(clients, { env: ENV_CREDENTIALS });

    const call = clients.iam.send(new ListAccessKeysCommand({ UserName: 'kw-warm-up-no-such-user' }));

    await expect(call).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    expect(proxy.countsByOperation()).toEqual({ 'iam.ListAccessKeys': 1 });
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
