/**
 * The real detector (createDetector) over SDK clients mocked with aws-sdk-client-mock: an IAM "world" holding one
 * user whose keys a scenario sets, answers for whatever user name it is asked (as a case-insensitive IAM would),
 * and records every command. Also captures what the Powertools logger writes. No test-runner dependency.
 */

import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import {
  type AccessKeyMetadata,
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  NoSuchEntityException,
  UpdateAccessKeyCommand,
  type UpdateAccessKeyCommandInput,
} from '@aws-sdk/client-iam';
import {
  BatchImportFindingsCommand,
  type BatchImportFindingsCommandInput,
  GetFindingsCommand,
  SecurityHubClient,
} from '@aws-sdk/client-securityhub';
import { mockClient } from 'aws-sdk-client-mock';
import type { AwsClients } from '../../functions/adapters/clients.ts';
import { createDetector, type DetectorResult } from '../../functions/detector/handler.ts';
import { type Config, loadConfig } from '../../functions/shared/config.ts';
import type { KeepKeyStrategy, RemediationMode } from '../../functions/shared/constants.ts';
import { ACCOUNT_ID, FUNCTION_ARN } from './arbitraries.ts';

export interface WorldKey {
  readonly id: string;
  status: string;
  readonly createDate: Date;
  readonly lastUsed: Date | undefined;
}

export interface Scenario {
  readonly mode: RemediationMode;
  readonly keepKey: KeepKeyStrategy;
  readonly graceHours: number;
  readonly notify: boolean;
  readonly userExists: boolean;
  readonly exempt: boolean;
  /** How IAM spells the user it found: as asked, or in another case (IAM names are case-insensitive). */
  readonly nameCase: 'as-asked' | 'lower' | 'upper';
  readonly keys: readonly WorldKey[];
}

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const REGION = 'us-east-1';

export function mockedClients(): AwsClients {
  return {
    iam: new IAMClient({ region: REGION, credentials: CREDENTIALS }),
    securityHub: new SecurityHubClient({ region: REGION, credentials: CREDENTIALS }),
    eventBridge: new EventBridgeClient({ region: REGION, credentials: CREDENTIALS }),
  };
}

const spell = (name: string, nameCase: Scenario['nameCase']): string =>
  nameCase === 'lower' ? name.toLowerCase() : nameCase === 'upper' ? name.toUpperCase() : name;

/**
 * One set of mocked clients whose answers follow the installed scenario. Behaviours are registered once and only
 * the call history is cleared per scenario (re-registering thousands of times makes sinon warn of a leak), unless
 * a test overrode an operation, in which case the next install starts afresh.
 */
export function createMockWorld() {
  const clients = mockedClients();
  const iam = mockClient(clients.iam);
  const securityHub = mockClient(clients.securityHub);
  const eventBridge = mockClient(clients.eventBridge);
  let scenario: Scenario | undefined;
  let keys: WorldKey[] = [];
  let overridden = true;
  /** Names GetUser answered with: the only users a write may target. */
  const confirmedNames = new Set<string>();
  const current = (): Scenario => {
    if (scenario === undefined) throw new Error('install a scenario first');
    return scenario;
  };
  const gone = () =>
    new NoSuchEntityException({ message: 'The user cannot be found.', $metadata: { httpStatusCode: 404 } });

  function register(): void {
    iam.on(GetUserCommand).callsFake((input: { UserName?: string }) => {
      const { userExists, nameCase, exempt } = current();
      if (!userExists) throw gone();
      const userName = spell(input.UserName ?? '', nameCase);
      confirmedNames.add(userName);
      return {
        User: {
          UserName: userName,
          UserId: 'AIDAFUZZFUZZFUZZFUZZ',
          Arn: `arn:aws:iam::${ACCOUNT_ID}:user/${userName}`,
          Path: '/',
          CreateDate: new Date('2020-01-01T00:00:00Z'),
          Tags: exempt ? [{ Key: 'keywarden:exempt', Value: 'true' }] : [],
        },
      };
    });
    iam.on(ListAccessKeysCommand).callsFake((input: { UserName?: string }) => {
      const { userExists, nameCase } = current();
      if (!userExists) throw gone();
      const metadata: AccessKeyMetadata[] = keys.map((key) => ({
        UserName: spell(input.UserName ?? '', nameCase),
        AccessKeyId: key.id,
        Status: key.status as AccessKeyMetadata['Status'],
        CreateDate: key.createDate,
      }));
      return { AccessKeyMetadata: metadata, IsTruncated: false };
    });
    iam.on(GetAccessKeyLastUsedCommand).callsFake((input: { AccessKeyId?: string }) => {
      const key = keys.find((k) => k.id === input.AccessKeyId);
      return {
        UserName: 'x',
        AccessKeyLastUsed: key?.lastUsed
          ? { LastUsedDate: key.lastUsed, ServiceName: 's3', Region: REGION }
          : { ServiceName: 'N/A', Region: 'N/A' },
      };
    });
    iam.on(UpdateAccessKeyCommand).callsFake((input: UpdateAccessKeyCommandInput) => {
      const key = keys.find((k) => k.id === input.AccessKeyId);
      if (key !== undefined && input.Status !== undefined) key.status = input.Status;
      return {};
    });
    securityHub
      .on(BatchImportFindingsCommand)
      .resolves({ FailedCount: 0, SuccessCount: 1, FailedFindings: [] });
    securityHub.on(GetFindingsCommand).resolves({ Findings: [] });
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  }

  function install(next: Scenario): void {
    scenario = next;
    keys = next.keys.map((key) => ({ ...key }));
    confirmedNames.clear();
    if (overridden) {
      for (const mock of [iam, securityHub, eventBridge]) mock.reset();
      register();
      overridden = false;
    } else {
      for (const mock of [iam, securityHub, eventBridge]) mock.resetHistory();
    }
  }

  return {
    clients,
    install,
    /** The mocks, to make one operation fail after `install`; the next install restores the world's answers. */
    override() {
      overridden = true;
      return { iam, securityHub, eventBridge };
    },
    /** Keys as they are now (after any write). */
    keys: () => keys,
    confirmedNames: () => [...confirmedNames],
    iamCommandCount: () => iam.calls().length,
    updates: (): UpdateAccessKeyCommandInput[] =>
      iam.commandCalls(UpdateAccessKeyCommand).map((call) => call.args[0].input),
    imports: (): BatchImportFindingsCommandInput[] =>
      securityHub.commandCalls(BatchImportFindingsCommand).map((call) => call.args[0].input),
    notifications: (): PutEventsCommandInput[] =>
      eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input),
  };
}

export type MockWorld = ReturnType<typeof createMockWorld>;

export function detectorConfig(
  scenario: Pick<Scenario, 'mode' | 'keepKey' | 'graceHours' | 'notify'>,
): Config {
  return {
    ...loadConfig({}),
    remediationMode: scenario.mode,
    keepKey: scenario.keepKey,
    rotationGraceHours: scenario.graceHours,
    // The properties model which keys are written without in-use protection (test/core/in-use.test.ts has it).
    inUseHours: 0,
    eventBusName: scenario.notify ? 'keywarden-notifications' : undefined,
  };
}

export const LAMBDA_CONTEXT = { invokedFunctionArn: FUNCTION_ARN, awsRequestId: 'fuzz-request' };

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

const sinks = new Set<string[]>();
let restoreWrites: (() => void) | undefined;

/** Sends stdout and stderr to every active sink while at least one capture runs. */
function hookWrites(): void {
  if (restoreWrites !== undefined) return;
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  const capture = (chunk: unknown, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    for (const sink of sinks) sink.push(text);
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  restoreWrites = () => {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
  };
}

/**
 * Runs `task` with process.stdout and process.stderr captured (the Powertools logger writes there), and returns
 * the lines written. Captures may overlap; each then also sees the others' lines.
 */
export async function captureOutput<T>(
  task: () => Promise<T>,
): Promise<{ settled: Settled<T>; lines: string[] }> {
  const written: string[] = [];
  sinks.add(written);
  hookWrites();
  let settled: Settled<T>;
  try {
    settled = { ok: true, value: await task() };
  } catch (error) {
    settled = { ok: false, error };
  } finally {
    sinks.delete(written);
    if (sinks.size === 0) {
      restoreWrites?.();
      restoreWrites = undefined;
    }
  }
  const lines = written
    .join('')
    .split('\n')
    .filter((line) => line.trim() !== '');
  return { settled, lines };
}

/** A Powertools logger as the Lambda builds it (JSON lines on stdout/stderr). */
export const fuzzLogger = (): Logger => new Logger({ serviceName: 'keywarden-detector', logLevel: 'INFO' });

/** A Powertools logger as the Lambda builds it, whose output (exactly what it would print) goes to `records`. */
export function recordingLogger(records: string[]): Logger {
  const logger = fuzzLogger();
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      records.push(
        ...String(chunk)
          .split('\n')
          .filter((line) => line.trim() !== ''),
      );
      callback();
    },
  });
  // The logger prints through its own Console over process.stdout/stderr; this one prints to the records.
  (logger as unknown as { console: Console }).console = new Console({ stdout: sink, stderr: sink });
  return logger;
}

/** Runs the real handler over the mocked world for one scenario and one event. */
export async function runDetector(
  world: MockWorld,
  scenario: Scenario,
  event: unknown,
  logger: Logger,
): Promise<{ settled: Settled<DetectorResult>; lines: string[] }> {
  world.install(scenario);
  const handler = createDetector({
    config: detectorConfig(scenario),
    clients: world.clients,
    logger,
    sleep: async () => {},
  });
  return captureOutput(() => handler(event, LAMBDA_CONTEXT));
}
