/** The shared engine with in-memory ports: what it writes, and what it refuses to lose. */

import { describe, expect, it } from 'vitest';
import type { IamPort } from '../../functions/adapters/iam.ts';
import type { Notification } from '../../functions/adapters/notify.ts';
import type { FindingsPort } from '../../functions/adapters/securityhub.ts';
import type { UsageEventsPort } from '../../functions/adapters/usage-events.ts';
import { buildFinding, type Finding, findingIdFor } from '../../functions/core/finding.ts';
import { threatFindingIdFor } from '../../functions/core/threat-finding.ts';
import type { AccessKey, EventTrigger, UserSnapshot } from '../../functions/core/types.ts';
import { summariseUsage } from '../../functions/core/usage-evidence.ts';
import { checkUser, type EngineSettings } from '../../functions/engine/check-user.ts';
import { monotonicClock } from '../../functions/shared/clock.ts';
import { FindingImportError, RemediationNotRecordedError } from '../../functions/shared/errors.ts';
import { ACCOUNT, EVENT_TRIGGER, NEW_KEY, NOW, OLD_KEY, POLICY, snapshot } from '../core/builders.ts';

const SETTINGS: EngineSettings = {
  ...POLICY,
  remediationMode: 'off',
  consistencyRetries: 0,
  importFindings: true,
};

/** An IAM with one user whose keys live in memory; records every write. */
function memoryIam(initial: UserSnapshot | undefined) {
  let keys: AccessKey[] = initial ? [...initial.keys] : [];
  const writes: string[] = [];
  const port: IamPort = {
    readUser: async () => (initial ? { user: initial.user, keys } : undefined),
    listKeys: async () => (initial ? keys : undefined),
    lastUsed: async () => ({ date: undefined, serviceName: undefined, region: undefined }),
    keyOwner: async (accessKeyId) =>
      initial?.keys.some((k) => k.accessKeyId === accessKeyId) ? initial.user.userName : undefined,
    deactivate: async (_userName, accessKeyId) => {
      writes.push(accessKeyId);
      keys = keys.map((k) => (k.accessKeyId === accessKeyId ? { ...k, status: 'Inactive' } : k));
    },
    reactivate: async (_userName, accessKeyId) => {
      writes.push(`+${accessKeyId}`);
      keys = keys.map((k) => (k.accessKeyId === accessKeyId ? { ...k, status: 'Active' } : k));
    },
  };
  return { port, writes, keys: () => keys };
}

/**
 * A Security Hub holding findings by Id with AWS's rule: an update whose UpdatedAt is not later than the stored one
 * is ignored. `failImports` fails every import like a partial failure; `failImport(n)` fails only the n-th (from 1).
 */
function memoryHub(stored: Finding[] = [], failImports = false) {
  const byId = new Map(stored.map((f) => [String(f.Id), f]));
  const imported: Finding[] = [];
  let calls = 0;
  const failing = new Set<number>();
  const port: FindingsPort = {
    importFindings: async (findings) => {
      calls += 1;
      if (failImports || failing.has(calls)) {
        throw new FindingImportError(
          findings.map((f) => ({ id: String(f.Id), code: 'InternalFailure', message: '' })),
        );
      }
      imported.push(...findings);
      for (const finding of findings) {
        const current = byId.get(String(finding.Id));
        if (
          current === undefined ||
          Date.parse(String(finding.UpdatedAt)) > Date.parse(String(current.UpdatedAt))
        )
          byId.set(String(finding.Id), finding);
      }
    },
    getFinding: async (_productArn, id) => byId.get(id),
    findFindings: async (_filters, keep) => [...byId.values()].filter(keep),
  };
  return {
    port,
    imported,
    stored: (id: string) => byId.get(id),
    failImport: (n: number) => failing.add(n),
  };
}

const deps = (iam: IamPort, findings: FindingsPort) => ({
  iam,
  findings,
  clock: monotonicClock(() => NOW.getTime()),
  sleep: async () => undefined,
});

/** The user creating its own key: no threat finding. */
const selfService = (userName: string): EventTrigger => ({
  ...EVENT_TRIGGER,
  actorArn: `arn:aws:iam::123456789012:user/${userName}`,
  actorUserName: userName,
});

function storedFinding(userName: string, status: 'FAILED' | 'PASSED'): Finding {
  const keys = status === 'FAILED' ? [OLD_KEY, NEW_KEY] : [OLD_KEY];
  const finding = buildFinding({
    account: ACCOUNT,
    evaluation:
      status === 'FAILED'
        ? {
            verdict: 'violation',
            snapshot: snapshot(keys, { userName }),
            activeKeys: keys,
            keyToKeep: NEW_KEY,
            keysToDeactivate: [OLD_KEY],
            keepReason: 'it is the newest active key (KEEP_KEY=newest)',
            graceUntil: undefined,
          }
        : { verdict: 'compliant', snapshot: snapshot(keys, { userName }), activeKeys: keys },
    action: { kind: 'none' },
    trigger: EVENT_TRIGGER,
    updatedAt: NOW,
  });
  return finding;
}

describe('checkUser', () => {
  it('throws RemediationNotRecordedError naming the key and the re-activate command when the import fails after a deactivation', async () => {
    const iam = memoryIam(snapshot([OLD_KEY, NEW_KEY], { userName: 'carol' }));
    const hub = memoryHub([]);
    hub.failImport(2);

    const run = checkUser(deps(iam.port, hub.port), { ...SETTINGS, remediationMode: 'deactivate' }, ACCOUNT, {
      userName: 'carol',
      trigger: EVENT_TRIGGER,
    });

    await expect(run).rejects.toBeInstanceOf(RemediationNotRecordedError);
    await expect(run).rejects.toThrow(
      `deactivated ${OLD_KEY.accessKeyId} at ${NOW.toISOString().slice(0, 16)}`,
    );
    await expect(run).rejects.toThrow(
      `aws iam update-access-key --user-name carol --access-key-id ${OLD_KEY.accessKeyId} --status Active`,
    );
    expect(iam.writes).toEqual([OLD_KEY.accessKeyId]);
  });

  it('never deactivates when the intent cannot be recorded first', async () => {
    const iam = memoryIam(snapshot([OLD_KEY, NEW_KEY], { userName: 'carla' }));
    const hub = memoryHub([], true);

    const run = checkUser(deps(iam.port, hub.port), { ...SETTINGS, remediationMode: 'deactivate' }, ACCOUNT, {
      userName: 'carla',
      trigger: EVENT_TRIGGER,
    });

    await expect(run).rejects.toBeInstanceOf(FindingImportError);
    expect(iam.writes).toEqual([]);
  });

  it('rethrows the import error unchanged when nothing was deactivated', async () => {
    const iam = memoryIam(snapshot([OLD_KEY, NEW_KEY], { userName: 'dave' }));
    const hub = memoryHub([], true);

    const run = checkUser(deps(iam.port, hub.port), SETTINGS, ACCOUNT, {
      userName: 'dave',
      trigger: EVENT_TRIGGER,
    });

    await expect(run).rejects.toBeInstanceOf(FindingImportError);
    expect(iam.writes).toEqual([]);
  });

  it.each([
    { stored: undefined, inactive: false, imports: 0, reads: 0, case: 'no stored finding (a first key)' },
    {
      stored: 'FAILED' as const,
      inactive: false,
      imports: 0,
      reads: 0,
      case: 'only active keys (no record can exist)',
    },
    {
      stored: 'PASSED' as const,
      inactive: true,
      imports: 0,
      reads: 1,
      case: 'a PASSED finding (kept as the record)',
    },
    {
      stored: 'FAILED' as const,
      inactive: true,
      imports: 1,
      reads: 1,
      case: 'a FAILED finding whose resolving event was lost',
    },
  ])(
    'after a self-service CreateAccessKey of a compliant user, reads $reads and imports $imports finding(s) given $case',
    async ({ stored, inactive, imports, reads }) => {
      const userName = 'erin';
      const keys = inactive ? [{ ...OLD_KEY, status: 'Inactive' }, NEW_KEY] : [NEW_KEY];
      const iam = memoryIam(snapshot(keys, { userName }));
      const hub = memoryHub(stored ? [storedFinding(userName, stored)] : []);
      let lookups = 0;
      const counted = {
        ...hub.port,
        getFinding: (arn: string, id: string) => (lookups++, hub.port.getFinding(arn, id)),
      };

      const result = await checkUser(deps(iam.port, counted), SETTINGS, ACCOUNT, {
        userName,
        trigger: selfService(userName),
      });

      expect(result.verdict).toBe('compliant');
      expect(lookups).toBe(reads);
      expect(hub.imported).toHaveLength(imports);
      if (imports === 1) expect(hub.imported[0]?.Compliance?.Status).toBe('PASSED');
    },
  );

  it('imports PASSED after a deletion even when nothing was stored, since a deletion can end a violation', async () => {
    const userName = 'frank';
    const iam = memoryIam(snapshot([OLD_KEY], { userName }));
    const hub = memoryHub([]);

    await checkUser(deps(iam.port, hub.port), SETTINGS, ACCOUNT, {
      userName,
      trigger: { ...EVENT_TRIGGER, eventName: 'DeleteAccessKey' },
    });

    expect(hub.imported.map((f) => f.Compliance?.Status)).toEqual(['PASSED']);
  });

  it.each([
    { eventName: 'grace', spelt: 'grace', archived: true },
    { eventName: 'GRACE', spelt: 'grace', archived: false },
  ])(
    'archives a gone user $spelt finding only when the event spells it the same ($eventName)',
    async ({ eventName, spelt, archived }) => {
      const iam = memoryIam(undefined);
      const stored = storedFinding(spelt, 'FAILED');
      expect(stored.Id).toBe(findingIdFor(ACCOUNT.accountId, eventName));
      const hub = memoryHub([stored]);

      await checkUser(deps(iam.port, hub.port), SETTINGS, ACCOUNT, {
        userName: eventName,
        trigger: EVENT_TRIGGER,
      });

      expect(hub.imported.map((f) => f.RecordState)).toEqual(archived ? ['ARCHIVED'] : []);
    },
  );
});

describe('checkUser and threat findings', () => {
  // EVENT_TRIGGER: arn:aws:iam::123456789012:user/admin creates AKIANEW0000000000002 for the user.
  const threatId = threatFindingIdFor(ACCOUNT.accountId, NEW_KEY.accessKeyId);

  function counting(hub: ReturnType<typeof memoryHub>) {
    const reads: string[] = [];
    const port: FindingsPort = {
      ...hub.port,
      getFinding: (arn, id) => {
        reads.push('getFinding');
        return hub.port.getFinding(arn, id);
      },
      findFindings: (filters, keep) => {
        reads.push('findFindings');
        return hub.port.findFindings(filters, keep);
      },
    };
    return { port, reads };
  }

  it('raises a HIGH threat finding for a first key another principal created, and no compliance finding', async () => {
    const iam = memoryIam(snapshot([NEW_KEY], { userName: 'gina' }));
    const hub = memoryHub();
    const { port, reads } = counting(hub);
    const notified: Notification[] = [];

    const result = await checkUser(
      { ...deps(iam.port, port), notifier: { notify: async (n) => void notified.push(n) } },
      SETTINGS,
      ACCOUNT,
      { userName: 'gina', trigger: EVENT_TRIGGER },
    );

    expect(result).toMatchObject({ verdict: 'compliant', written: 'none', finding: undefined });
    expect(reads).toEqual(['findFindings']);
    expect(hub.imported.map((f) => [f.Id, f.Severity?.Label, f.Compliance?.Status])).toEqual([
      [threatId, 'HIGH', 'FAILED'],
    ]);
    expect(result.threatRaised?.Id).toBe(threatId);
    expect(notified.map((n) => n.outcome)).toEqual(['Key Minted By Another Principal']);
  });

  it('raises none when the caller is a trusted key issuer', async () => {
    const iam = memoryIam(snapshot([NEW_KEY], { userName: 'gina' }));
    const hub = memoryHub();
    const { port, reads } = counting(hub);

    const result = await checkUser(
      deps(iam.port, port),
      { ...SETTINGS, trustedKeyIssuers: ['arn:aws:iam::123456789012:user/adm*'] },
      ACCOUNT,
      { userName: 'gina', trigger: EVENT_TRIGGER },
    );

    expect(result.threatRaised).toBeUndefined();
    expect(reads).toEqual([]);
    expect(hub.imported).toEqual([]);
  });

  it('imports the threat finding in the same call as the compliance finding, naming who created the key', async () => {
    const iam = memoryIam(snapshot([OLD_KEY, NEW_KEY], { userName: 'hana' }));
    const hub = memoryHub();
    let batches = 0;
    const port = {
      ...hub.port,
      importFindings: (findings: readonly Finding[]) => {
        batches++;
        return hub.port.importFindings(findings);
      },
    };

    await checkUser(deps(iam.port, port), SETTINGS, ACCOUNT, { userName: 'hana', trigger: EVENT_TRIGGER });

    expect(batches).toBe(1);
    expect(hub.imported.map((f) => f.Id)).toEqual([findingIdFor(ACCOUNT.accountId, 'hana'), threatId]);
    const compliance = hub.imported[0];
    expect(compliance?.Description).toContain(
      `${NEW_KEY.accessKeyId} (created 2026-06-01, never used; created by arn:aws:iam::123456789012:user/admin, another principal)`,
    );
    expect(compliance?.ProductFields?.['keywarden/detector/key2/madeUsableByKind']).toBe('another-principal');
  });

  it('resolves the threat finding on a deactivation, reading it with the compliance finding in one call', async () => {
    const userName = 'ines';
    const iam = memoryIam(snapshot([OLD_KEY, NEW_KEY], { userName }));
    const hub = memoryHub();
    await checkUser(deps(iam.port, hub.port), SETTINGS, ACCOUNT, { userName, trigger: EVENT_TRIGGER });
    await iam.port.deactivate(userName, NEW_KEY.accessKeyId);
    hub.imported.length = 0;
    const { port, reads } = counting(hub);

    await checkUser(deps(iam.port, port), SETTINGS, ACCOUNT, {
      userName,
      trigger: { ...selfService(userName), eventName: 'UpdateAccessKey', eventId: 'ev-off' },
      expectation: { accessKeyId: NEW_KEY.accessKeyId, state: 'Inactive' },
    });

    expect(reads).toEqual(['findFindings']);
    expect(hub.imported.map((f) => [f.Id, f.Compliance?.Status, f.RecordState])).toEqual([
      [findingIdFor(ACCOUNT.accountId, userName), 'PASSED', 'ACTIVE'],
      [threatId, 'PASSED', 'ACTIVE'],
    ]);
  });
});

describe('checkUser records when the violation it resolves was detected', () => {
  const DETECTED = 'keywarden/detector/violationDetectedAt';
  const RESOLVED = 'keywarden/detector/violationResolvedAt';

  it('keeps the open finding’s CreatedAt on the PASSED finding of a person’s deactivation, and the sweep keeps it', async () => {
    // Prepare
    const userName = 'gina';
    const stored = storedFinding(userName, 'FAILED');
    const iam = memoryIam(snapshot([{ ...OLD_KEY, status: 'Inactive' }, NEW_KEY], { userName }));
    const hub = memoryHub([stored]);
    const byAdmin: EventTrigger = {
      ...EVENT_TRIGGER,
      eventName: 'UpdateAccessKey',
      accessKeyId: OLD_KEY.accessKeyId,
    };

    // Act
    await checkUser(
      { ...deps(iam.port, hub.port), clock: monotonicClock(() => NOW.getTime() + 1_000) },
      SETTINGS,
      ACCOUNT,
      { userName, trigger: byAdmin },
    );
    const resolved = hub.stored(String(stored.Id));
    await checkUser(
      { ...deps(iam.port, hub.port), clock: monotonicClock(() => NOW.getTime() + 60_000) },
      SETTINGS,
      ACCOUNT,
      { userName, trigger: { kind: 'sweep', origin: 'schedule' } },
    );
    const reimported = hub.stored(String(stored.Id));

    // Assess
    expect(resolved?.Compliance?.Status).toBe('PASSED');
    expect(resolved?.ProductFields?.[DETECTED]).toBe(stored.CreatedAt);
    expect(resolved?.ProductFields?.[RESOLVED]).toBe(resolved?.UpdatedAt);
    expect(reimported?.UpdatedAt).not.toBe(resolved?.UpdatedAt);
    expect(reimported?.ProductFields?.[DETECTED]).toBe(stored.CreatedAt);
    expect(reimported?.ProductFields?.[RESOLVED]).toBe(resolved?.UpdatedAt);
  });

  it('records no detection time on a PASSED finding that resolved nothing (its twin)', async () => {
    // Prepare
    const userName = 'hank';
    const iam = memoryIam(snapshot([{ ...OLD_KEY, status: 'Inactive' }, NEW_KEY], { userName }));
    const hub = memoryHub([storedFinding(userName, 'PASSED')]);

    // Act
    await checkUser(deps(iam.port, hub.port), SETTINGS, ACCOUNT, {
      userName,
      trigger: { ...EVENT_TRIGGER, eventName: 'DeleteAccessKey' },
    });

    // Assess
    const [finding] = hub.imported;
    expect(finding?.Compliance?.Status).toBe('PASSED');
    expect(finding?.ProductFields?.[DETECTED]).toBeUndefined();
    expect(finding?.ProductFields?.[RESOLVED]).toBeUndefined();
  });

  it('records the violation’s start on KeyWarden’s own deactivation', async () => {
    // Prepare
    const userName = 'ivy';
    const iam = memoryIam(snapshot([OLD_KEY, NEW_KEY], { userName }));
    const hub = memoryHub([]);

    // Act
    await checkUser(deps(iam.port, hub.port), { ...SETTINGS, remediationMode: 'deactivate' }, ACCOUNT, {
      userName,
      trigger: selfService(userName),
    });

    // Assess
    const finding = hub.stored(findingIdFor(ACCOUNT.accountId, userName));
    expect(finding?.Compliance?.StatusReasons?.[0]?.ReasonCode).toBe('SURPLUS_KEY_DEACTIVATED');
    expect(finding?.ProductFields?.[DETECTED]).toBe(NEW_KEY.createDate.toISOString());
    expect(finding?.ProductFields?.[RESOLVED]).toBe(
      finding?.ProductFields?.['keywarden/detector/deactivatedAt'],
    );
  });
});

describe('checkUser and usage evidence', () => {
  const usageFake = (fail: boolean) => {
    const asked: string[][] = [];
    const port: UsageEventsPort = {
      usage: async (queries, window) => {
        asked.push(queries.map((query) => query.accessKeyId));
        if (fail) throw new Error('socket hang up');
        return {
          ...window,
          keys: queries.map((query) =>
            summariseUsage(query.accessKeyId, [{ region: 'us-east-1', records: [], pages: 1 }]),
          ),
        };
      },
    };
    return { port, asked };
  };

  it.each([
    { case: 'a violation', keys: [OLD_KEY, NEW_KEY], asked: [[OLD_KEY.accessKeyId, NEW_KEY.accessKeyId]] },
    { case: 'its compliant twin', keys: [NEW_KEY], asked: [] },
  ])('reads usage evidence for $case only', async ({ keys, asked }) => {
    const iam = memoryIam(snapshot(keys, { userName: 'dave' }));
    const usage = usageFake(false);

    const result = await checkUser(
      { ...deps(iam.port, memoryHub([]).port), usageEvents: usage.port },
      SETTINGS,
      ACCOUNT,
      { userName: 'dave', trigger: selfService('dave') },
    );

    expect(usage.asked).toEqual(asked);
    expect(result.usage === undefined).toBe(asked.length === 0);
  });

  it('imports the finding when the evidence cannot be read, saying why', async () => {
    const iam = memoryIam(snapshot([OLD_KEY, NEW_KEY], { userName: 'erin' }));
    const hub = memoryHub([]);

    const result = await checkUser(
      { ...deps(iam.port, hub.port), usageEvents: usageFake(true).port },
      SETTINGS,
      ACCOUNT,
      { userName: 'erin', trigger: selfService('erin') },
    );

    expect(result.written).toBe('imported');
    expect(hub.imported[0]?.Compliance?.Status).toBe('FAILED');
    expect(hub.imported[0]?.ProductFields?.['keywarden/detector/key1/usage']).toBe(
      'usage evidence unavailable (CloudTrail could not be read: Error: socket hang up)',
    );
  });
});
