/**
 * `npm run demo`: KeyWarden end to end on moto server, with no AWS account.
 *
 * Starts moto server on a free port (or uses AWS_ENDPOINT_URL), creates the EventBridge rule with the pattern of
 * the synthesized CDK template and an SQS queue as its target, makes access-key changes in IAM, sends the matching
 * CloudTrail events through EventBridge, feeds what the rule delivered to the real detector handler, and prints
 * the findings read back from Security Hub and the keys as IAM has them: first in detect-only mode, then with
 * REMEDIATION_MODE=deactivate and KEEP_KEY=auto. Each user acts on its own keys, except erin's second key, which
 * another IAM user mints (MITRE ATT&CK T1098.001): it gets a threat finding of its own. A third pass shows a
 * rotation in progress: the old key, which an application uses, is not switched off (KEY_IN_USE, with where and by
 * what CloudTrail shows it used) until it has been idle for IN_USE_HOURS (scripts/lib/demo-rotation.ts). Exits
 * non-zero when an outcome is not the expected one.
 *
 * With --organization: a central account and two members instead (scripts/lib/demo-organization.ts).
 *
 * Usage: npm run demo [-- --organization] [-- --verbose]   (--verbose shows the handler's JSON logs)
 */

import { Logger } from '@aws-lambda-powertools/logger';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateAccessKeyCommand,
  IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { findingIdFor } from '../functions/core/finding.ts';
import { threatFindingIdFor } from '../functions/core/threat-finding.ts';
import { USER_AGENT_MARKER } from '../functions/shared/constants.ts';
import { type KeyCall, putEventsEntry } from './lib/cloudtrail.ts';
import { OrganizationDemoError, runOrganizationDemo } from './lib/demo-organization.ts';
import { runRotationDemo } from './lib/demo-rotation.ts';
import {
  clientConfig,
  createQueue,
  EMULATOR_REGION,
  type Emulator,
  emulatorEnv,
  MotoNotFoundError,
  runId,
  type SqsQueue,
  startEmulator,
} from './lib/emulator.ts';
import { readScriptArgs, valuesOrExit } from './lib/script-args.ts';
import { createUser } from './lib/seed.ts';
import { synthesizedKeyEventPattern } from './lib/synth.ts';

// The detector reads its settings and endpoint from the environment; the demo's own SDK clients must not warn
// about Node 20 on every run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** `npm run demo -- --help`. */
const DEMO_USAGE = `Usage: npm run demo [-- --organization] [-- --verbose]

Runs KeyWarden end to end on moto server (started for the run, or the emulator
in AWS_ENDPOINT_URL), with no AWS account: access-key changes in IAM, their
CloudTrail events through the synthesized EventBridge rule, the detector, and
the findings and keys read back. Exits 1 when an outcome is not the expected one.

Options:
  --organization   a central account and two member accounts instead of one account
  --verbose        also show the handler's JSON logs and each threat finding's JSON
  -h, --help       show this help
`;

const { verbose = false, organization = false } = valuesOrExit(
  readScriptArgs(
    process.argv.slice(2),
    { verbose: { type: 'boolean' }, organization: { type: 'boolean' } },
    'npm run demo',
  ),
  'npm run demo',
  DEMO_USAGE,
);
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** The detector's execution role in the demo account (the stack passes the real one in OWN_ROLE_ARNS). */
const DEMO_ROLE_ARN = (accountId: string): string => `arn:aws:iam::${accountId}:role/keywarden-detector`;
/** The IAM user who mints a key for someone else (MITRE ATT&CK T1098.001, "Additional Cloud Credentials"). */
const INTRUDER = 'mallory';

interface LambdaContext {
  readonly invokedFunctionArn: string;
  readonly awsRequestId: string;
}

type Handler = (event: unknown, context: LambdaContext) => Promise<unknown>;

interface Step {
  readonly description: string;
  readonly userName: string;
  /** Makes the change in IAM and says what CloudTrail would record; the caller is the user unless it says. */
  readonly act: () => Promise<
    Omit<KeyCall, 'accountId' | 'region' | 'actorUserName' | 'eventTime' | 'eventId'> &
      Partial<Pick<KeyCall, 'actorUserName'>>
  >;
  /** The handler's outcome expected in each pass (`verdict/action`, or `skipped/<reason>`). */
  readonly expect: { readonly off?: string; readonly deactivate?: string };
}

interface Delivery {
  readonly step: Step;
  readonly outcome: string;
}

class DemoExpectationError extends Error {
  constructor(readonly mismatches: readonly string[]) {
    super(`${mismatches.length} outcome(s) differ from what the demo expects:\n  ${mismatches.join('\n  ')}`);
    this.name = 'DemoExpectationError';
  }
}

function outcomeOf(result: unknown): string {
  const r = result as { status?: string; verdict?: string; action?: string; reason?: string };
  return r.status === 'skipped' ? `skipped/${r.reason}` : `${r.verdict}/${r.action}`;
}

/** `violation, action deactivated` or `skipped (own-remediation)`. */
function describeOutcome(outcome: string): string {
  const [first, second] = outcome.split('/');
  return first === 'skipped' ? `skipped (${second})` : `${first}, action ${second}`;
}

/** Waits for the rule to deliver `expected` events (moto delivers during PutEvents; real services take longer). */
async function deliveries(queue: SqsQueue, expected: number): Promise<unknown[]> {
  const bodies: string[] = [];
  const deadline = Date.now() + (expected === 0 ? 300 : 10_000);
  while (Date.now() < deadline) {
    bodies.push(...(await queue.drain()));
    if (expected > 0 && bodies.length >= expected) break;
    await sleep(50);
  }
  return bodies.map((body) => JSON.parse(body) as unknown);
}

/** Waits until the clock enters a new second: IAM key CreateDates have one-second precision. */
async function nextSecond(): Promise<void> {
  await sleep(1_010 - (Date.now() % 1_000));
}

async function run(
  emulator: Emulator,
  patternPromise: ReturnType<typeof synthesizedKeyEventPattern>,
): Promise<void> {
  const started = Date.now();
  const config = clientConfig(emulator.endpoint);
  const iam = new IAMClient(config);
  // The SDK retries LimitExceeded as throttling; the refused third key must fail at once.
  const iamOnce = new IAMClient({ ...config, maxAttempts: 1 });
  const eventBridge = new EventBridgeClient(config);
  const securityHub = new SecurityHubClient(config);
  const sts = new STSClient(config);
  const { Account: accountId = '123456789012' } = await sts.send(new GetCallerIdentityCommand({}));
  const id = runId();
  const name = (person: string): string => `${person}-${id}`;

  const { stackName, logicalId, pattern } = await patternPromise;
  out(`Event pattern of ${stackName}/${logicalId} in the synthesized template:`);
  out(`  ${JSON.stringify(pattern)}`);
  const bus = `keywarden-demo-${id}`;
  const queue = await createQueue(emulator.endpoint, bus);
  // A bus of its own, so that other rules on a shared emulator neither see nor add events.
  await eventBridge.send(new CreateEventBusCommand({ Name: bus }));
  await eventBridge.send(
    new PutRuleCommand({ Name: bus, EventBusName: bus, EventPattern: JSON.stringify(pattern) }),
  );
  await eventBridge.send(
    new PutTargetsCommand({ Rule: bus, EventBusName: bus, Targets: [{ Id: 'queue', Arn: queue.arn }] }),
  );
  out(`Rule ${bus} → SQS queue ${bus}`);
  out();

  const seeded = await Promise.all([
    createUser(iam, { userName: name('alice'), keys: 1 }),
    createUser(iam, { userName: name('bob'), keys: 1 }),
    createUser(iam, { userName: name('carol'), keys: 1, tags: { 'keywarden:exempt': 'true' } }),
    createUser(iam, { userName: name('dave'), keys: 0 }),
    createUser(iam, { userName: name('erin'), keys: 1 }),
  ]);
  const firstKey = Object.fromEntries(seeded.map((user) => [user.userName, user.accessKeyIds[0] ?? '']));
  out(`IAM users in account ${accountId}:`);
  out(`  ${name('alice').padEnd(14)}one key; will create a second one`);
  out(`  ${name('bob').padEnd(14)}one key; will rotate it (create a new key, then deactivate the old one)`);
  out(`  ${name('carol').padEnd(14)}one key, tagged keywarden:exempt=true; will create a second one`);
  out(`  ${name('dave').padEnd(14)}no key yet; will create his first`);
  out(`  ${name('erin').padEnd(14)}one key; another IAM user, ${INTRUDER}, will mint her a second one`);
  await nextSecond();

  const createKey = async (userName: string) => {
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    return { eventName: 'CreateAccessKey' as const, userName, accessKeyId: AccessKey?.AccessKeyId ?? '' };
  };
  const steps: Step[] = [
    {
      description: 'creates his first access key',
      userName: name('dave'),
      act: () => createKey(name('dave')),
      expect: { off: 'compliant/none', deactivate: 'compliant/none' },
    },
    {
      description: 'creates a second access key',
      userName: name('alice'),
      act: () => createKey(name('alice')),
      expect: { off: 'violation/none', deactivate: 'violation/deactivated' },
    },
    {
      description: 'tries a third key; IAM refuses',
      userName: name('alice'),
      act: async () => {
        const refused = await iamOnce.send(new CreateAccessKeyCommand({ UserName: name('alice') })).then(
          () => undefined,
          (error: Error) => error,
        );
        if (refused === undefined) throw new Error('IAM accepted a third access key; expected LimitExceeded');
        return {
          eventName: 'CreateAccessKey' as const,
          userName: name('alice'),
          accessKeyId: '',
          error: { code: 'LimitExceeded', message: 'Cannot exceed quota for AccessKeysPerUser: 2' },
        };
      },
      // The rule's `errorCode: [{exists: false}]` keeps failed calls away from the detector.
      expect: {},
    },
    {
      description: 'rotates: creates a new key',
      userName: name('bob'),
      act: () => createKey(name('bob')),
      expect: { off: 'violation/none', deactivate: 'compliant/none' },
    },
    {
      description: 'rotates: deactivates the old key',
      userName: name('bob'),
      act: async () => {
        const accessKeyId = firstKey[name('bob')] ?? '';
        await iam.send(
          new UpdateAccessKeyCommand({ UserName: name('bob'), AccessKeyId: accessKeyId, Status: 'Inactive' }),
        );
        return {
          eventName: 'UpdateAccessKey' as const,
          userName: name('bob'),
          accessKeyId,
          status: 'Inactive' as const,
        };
      },
      expect: { off: 'compliant/none', deactivate: 'compliant/none' },
    },
    {
      description: 'creates a second access key',
      userName: name('carol'),
      act: () => createKey(name('carol')),
      expect: { off: 'exempt/none', deactivate: 'exempt/none' },
    },
    {
      description: `gets a second key from ${INTRUDER}`,
      userName: name('erin'),
      act: async () => ({ ...(await createKey(name('erin'))), actorUserName: INTRUDER }),
      expect: { off: 'violation/none', deactivate: 'violation/deactivated' },
    },
  ];

  const context = {
    invokedFunctionArn: `arn:aws:lambda:${EMULATOR_REGION}:${accountId}:function:keywarden-detector`,
    awsRequestId: 'demo',
  };
  const { createDetector } = await import('../functions/detector/handler.ts');
  const { createClients } = await import('../functions/adapters/clients.ts');
  const { loadConfig } = await import('../functions/shared/config.ts');
  const detector = (mode: 'off' | 'deactivate'): Handler =>
    createDetector({
      config: loadConfig({
        ...process.env,
        REMEDIATION_MODE: mode,
        // auto keeps the older key when another principal minted the newer one, and finishes rotations otherwise.
        ...(mode === 'deactivate' ? { KEEP_KEY: 'auto' } : {}),
        OWN_ROLE_ARNS: DEMO_ROLE_ARN(accountId),
      }),
      clients: createClients(),
      logger: new Logger({ serviceName: `keywarden-demo-${mode}`, logLevel: verbose ? 'INFO' : 'SILENT' }),
    });

  const mismatches: string[] = [];
  let sequence = 0;
  const toCall = (call: Awaited<ReturnType<Step['act']>>): KeyCall => ({
    actorUserName: call.userName,
    ...call,
    accountId,
    region: EMULATOR_REGION,
    eventTime: new Date(),
    eventId: `00000000-0000-4000-8000-${id.padStart(6, '0')}${String(++sequence).padStart(6, '0')}`,
  });

  /** Sends one event through EventBridge and hands what the rule delivers to the handler. */
  async function deliver(
    handler: Handler,
    step: Step,
    call: KeyCall,
    mode: 'off' | 'deactivate',
  ): Promise<Delivery[]> {
    const expected = step.expect[mode];
    await eventBridge.send(new PutEventsCommand({ Entries: [putEventsEntry(call, bus)] }));
    const delivered = await deliveries(queue, expected === undefined ? 0 : 1);
    const label = `  ${call.eventName.padEnd(16)}${step.userName.padEnd(14)}`;
    if (delivered.length === 0) {
      out(`${label}${step.description}: not delivered (the rule matches successful calls only)`);
      if (expected !== undefined) mismatches.push(`${step.userName} ${call.eventName}: not delivered`);
      return [];
    }
    const results: Delivery[] = [];
    for (const event of delivered) {
      const outcome = outcomeOf(await handler(event, context));
      out(`${label}${step.description} → ${describeOutcome(outcome)}`);
      if (outcome !== expected)
        mismatches.push(`${step.userName} ${call.eventName} (${mode}): ${outcome}, expected ${expected}`);
      results.push({ step, outcome });
    }
    return results;
  }

  const userNames = seeded.map((user) => user.userName);
  const idOf = (userName: string): string => findingIdFor(accountId, userName);
  const findingIds = new Set(userNames.map(idOf));

  async function printFindings(): Promise<void> {
    const findings = [];
    let nextToken: string | undefined;
    do {
      const page = await securityHub.send(
        new GetFindingsCommand({
          Filters: { Id: [...findingIds].map((Value) => ({ Value, Comparison: 'EQUALS' as const })) },
          MaxResults: 100,
          NextToken: nextToken,
        }),
      );
      // Emulators ignore Filters: keep only this run's findings.
      findings.push(...(page.Findings ?? []).filter((finding) => findingIds.has(finding.Id ?? '')));
      nextToken = page.NextToken || undefined;
    } while (nextToken !== undefined);
    out('Findings in Security Hub:');
    for (const finding of findings.sort((a, b) => (a.Id ?? '').localeCompare(b.Id ?? ''))) {
      const fields = finding.ProductFields ?? {};
      const keep = fields['keywarden/detector/keyToKeep'];
      const deactivated = fields['keywarden/detector/deactivatedKeys'];
      out(
        `  ${(finding.Compliance?.Status ?? '?').padEnd(8)}${(finding.RecordState ?? '?').padEnd(8)}${finding.Title}`,
      );
      if (keep !== undefined) {
        out(`  ${' '.repeat(16)}key to keep ${keep}${deactivated ? `; deactivated ${deactivated}` : ''}`);
      }
    }
    const reported = new Set(findings.map((finding) => finding.Id));
    for (const userName of userNames) {
      if (!reported.has(idOf(userName))) out(`  ${'(none)'.padEnd(16)}no finding for ${userName}`);
    }
    const threats = await threatFindings();
    out(`Threat findings (MITRE ATT&CK T1098.001), one per key another principal minted: ${threats.length}`);
    for (const finding of threats) {
      const fields = finding.ProductFields ?? {};
      out(
        `  ${(finding.Compliance?.Status ?? '?').padEnd(8)}${(finding.RecordState ?? '?').padEnd(8)}${finding.Severity?.Label} ${finding.Title}`,
      );
      out(
        `  ${' '.repeat(16)}from ${fields['keywarden/threat/sourceIp']}, key ${fields['keywarden/threat/keyState']}${fields['keywarden/threat/resolvedBy'] ? ` (${fields['keywarden/threat/resolvedBy']})` : ''}`,
      );
    }
  }

  /** The threat findings of this run's keys (every key a user holds, or held). */
  async function threatFindings() {
    const ids = new Set<string>();
    for (const userName of userNames) {
      const { AccessKeyMetadata = [] } = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
      for (const key of AccessKeyMetadata) ids.add(threatFindingIdFor(accountId, key.AccessKeyId ?? ''));
    }
    const found = [];
    let nextToken: string | undefined;
    do {
      const page = await securityHub.send(
        new GetFindingsCommand({
          Filters: { Id: [...ids].map((Value) => ({ Value, Comparison: 'EQUALS' as const })) },
          MaxResults: 100,
          NextToken: nextToken,
        }),
      );
      found.push(...(page.Findings ?? []).filter((finding) => ids.has(finding.Id ?? '')));
      nextToken = page.NextToken || undefined;
    } while (nextToken !== undefined);
    if (verbose) for (const finding of found) out(JSON.stringify(finding, null, 2));
    return found;
  }

  async function printKeys(): Promise<void> {
    out('Access keys in IAM:');
    for (const userName of userNames) {
      const { AccessKeyMetadata = [] } = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
      const keys = AccessKeyMetadata.map((key) => `${key.AccessKeyId} ${key.Status}`).join(', ');
      out(`  ${userName.padEnd(14)}${keys || 'none'}`);
    }
  }

  out();
  out('── Pass 1: REMEDIATION_MODE=off (detect only) ──');
  out(
    'Each change is made in IAM, its CloudTrail event sent through EventBridge, and what the rule delivers',
  );
  out('goes to the detector handler:');
  const offHandler = detector('off');
  const sent: { step: Step; call: KeyCall }[] = [];
  for (const step of steps) {
    const call = toCall(await step.act());
    sent.push({ step, call });
    await deliver(offHandler, step, call, 'off');
  }
  out();
  await printFindings();
  out();
  await printKeys();

  out();
  out('── Pass 2: REMEDIATION_MODE=deactivate, KEEP_KEY=auto ──');
  out(
    'The same events are delivered again (EventBridge may deliver twice; the detector re-reads IAM each time):',
  );
  const deactivateHandler = detector('deactivate');
  const deactivatedKeys: { userName: string; accessKeyId: string }[] = [];
  for (const { step, call } of sent) {
    const before = await iam.send(new ListAccessKeysCommand({ UserName: step.userName }));
    await deliver(deactivateHandler, step, call, 'deactivate');
    const after = await iam.send(new ListAccessKeysCommand({ UserName: step.userName }));
    for (const key of after.AccessKeyMetadata ?? []) {
      const was = before.AccessKeyMetadata?.find((k) => k.AccessKeyId === key.AccessKeyId);
      if (was?.Status === 'Active' && key.Status === 'Inactive') {
        deactivatedKeys.push({ userName: step.userName, accessKeyId: key.AccessKeyId ?? '' });
      }
    }
  }
  out("KeyWarden's own UpdateAccessKey comes back as an event too:");
  for (const { userName, accessKeyId } of deactivatedKeys) {
    const step: Step = {
      description: 'KeyWarden deactivated this key',
      userName,
      act: async () => ({ eventName: 'UpdateAccessKey', userName, accessKeyId, status: 'Inactive' }),
      expect: { deactivate: 'skipped/own-remediation' },
    };
    // KeyWarden is recognised by its role's session in the record, never by the user agent.
    const call = toCall({
      ...(await step.act()),
      actorRoleArn: DEMO_ROLE_ARN(accountId),
      userAgent: `aws-sdk-js/3.1169.0 ua/2.1 os/linux lang/js md/nodejs#22 api/iam#3.1169.0 ${USER_AGENT_MARKER}/0.1.0`,
    });
    await deliver(deactivateHandler, step, call, 'deactivate');
  }
  const erinsMinted = sent.find(({ step }) => step.userName === name('erin'))?.call.accessKeyId;
  const expectedOff = [`${name('alice')} ${firstKey[name('alice')]}`, `${name('erin')} ${erinsMinted}`];
  const off = deactivatedKeys.map(({ userName, accessKeyId }) => `${userName} ${accessKeyId}`);
  // KEEP_KEY=auto: alice's older key (her own rotation), erin's newer key (the one another principal minted).
  if (JSON.stringify(off) !== JSON.stringify(expectedOff))
    mismatches.push(`deactivated ${off.join(', ') || 'nothing'}, expected ${expectedOff.join(', ')}`);
  out();
  await printFindings();
  out();
  await printKeys();
  out();
  out('── Pass 3: a rotation in progress (REMEDIATION_MODE=deactivate, IN_USE_HOURS=24) ──');
  await runRotationDemo(emulator, {
    accountId,
    userName: name('frank'),
    out,
    mismatch: (message) => mismatches.push(message),
  });
  out();

  for (const client of [iam, iamOnce, eventBridge, securityHub, sts]) client.destroy();
  if (mismatches.length > 0) throw new DemoExpectationError(mismatches);
  out(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s: every outcome as expected.`);
}

async function main(): Promise<number> {
  let emulator: Emulator | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= emulator?.stop() ?? Promise.resolve();
    return stopping;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping moto server\n`);
      void stop().finally(() => process.exit(130));
    });
  }
  // The synth loads aws-cdk-lib, which takes seconds: it runs while moto starts.
  const patternPromise = synthesizedKeyEventPattern('123456789012');
  patternPromise.catch(() => undefined);
  try {
    emulator = await startEmulator().catch((error: unknown) => {
      if (error instanceof MotoNotFoundError) throw error;
      throw new Error(
        `could not start moto server: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      );
    });
    Object.assign(process.env, emulatorEnv(emulator.endpoint));
    out(
      emulator.owned
        ? `KeyWarden demo on moto server at ${emulator.endpoint} (started for this run, stopped at the end)`
        : `KeyWarden demo on the emulator at ${emulator.endpoint} (AWS_ENDPOINT_URL)`,
    );
    if (organization) await runOrganizationDemo(emulator, patternPromise, { out, verbose });
    else await run(emulator, patternPromise);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`demo failed: ${message}\n`);
    if (error instanceof MotoNotFoundError || message.startsWith('could not start moto server')) {
      process.stderr.write(
        'Or point the demo at a running emulator: AWS_ENDPOINT_URL=http://127.0.0.1:5000 npm run demo\n',
      );
    } else if (
      !(error instanceof DemoExpectationError || error instanceof OrganizationDemoError) &&
      error instanceof Error &&
      error.stack
    ) {
      process.stderr.write(`${error.stack}\n`);
    }
    return 1;
  } finally {
    await stop();
  }
}

process.exitCode = await main();
