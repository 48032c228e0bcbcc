import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createClients } from '../../functions/adapters/clients.ts';
import type { createDetector } from '../../functions/detector/handler.ts';
import { keyEvent } from './events.ts';
import {
  activeIds,
  type MotoKey,
  type MotoWorld,
  REGION,
  startDetector,
  startMotoWorld,
  useEndpoint,
  violatingUser,
} from './moto-world.ts';

let world: MotoWorld;
let restoreEnv: () => void;
const figures = {
  deliveries: 0,
  concurrentDeliveries: 0,
  crossInstanceTrials: 0,
  crossInstanceWrites: [] as number[],
};

beforeAll(async () => {
  world = await startMotoWorld(inject('motoEndpoint'), 'dup');
  restoreEnv = useEndpoint(world.proxy.endpoint);
});

afterAll(async () => {
  console.info(
    `[reliability] duplicates: ${figures.deliveries} deliveries in all, ${figures.concurrentDeliveries} of them concurrent; two-instance races: ${figures.crossInstanceTrials} trials, UpdateAccessKey calls per trial: ${figures.crossInstanceWrites.join(',')}`,
  );
  restoreEnv?.();
  await world?.close();
});

/** A burst of different events that all concern one user, as a busy CloudTrail would send them. */
function burst(userName: string, kept: MotoKey, surplus: MotoKey, size: number): unknown[] {
  return Array.from({ length: size }, (_, index) =>
    index % 2 === 0
      ? keyEvent({ userName, accessKeyId: kept.id })
      : keyEvent({ eventName: 'UpdateAccessKey', userName, accessKeyId: surplus.id, status: 'Active' }),
  );
}

describe('detector handler with duplicate deliveries', () => {
  it('deactivates once and keeps one finding when the same event arrives five times', async () => {
    const { userName, kept, surplus } = await violatingUser(world, 'same-event');
    const event = keyEvent({ userName, accessKeyId: kept.id });
    const detector = startDetector();
    world.proxy.reset();

    const results = [];
    for (let delivery = 0; delivery < 5; delivery++) results.push((await detector.deliver(event)).settled);
    figures.deliveries += 5;

    expect(results.map((result) => (result.ok ? result.value : result.error))).toEqual([
      expect.objectContaining({ verdict: 'violation', action: 'deactivated' }),
      ...Array.from({ length: 4 }, () => expect.objectContaining({ verdict: 'compliant', action: 'none' })),
    ]);
    expect(world.proxy.count('iam.UpdateAccessKey')).toBe(1);
    expect(detector.updates).toEqual([{ UserName: userName, AccessKeyId: surplus.id, Status: 'Inactive' }]);
    expect(activeIds(await world.keysOf(userName))).toEqual([kept.id]);
    expect(await world.findingsOf(userName)).toHaveLength(1);
  });

  it('deactivates once when ten events for one user arrive at the same moment', async () => {
    const { userName, kept, surplus } = await violatingUser(world, 'burst');
    const detector = startDetector();
    world.proxy.reset();

    const { settled } = await detector.deliverAll(burst(userName, kept, surplus, 10));
    figures.deliveries += 10;
    figures.concurrentDeliveries += 10;

    expect(settled.every((result) => result.ok)).toBe(true);
    const actions = settled
      .map((result) => (result.ok ? result.value : undefined))
      .map((value) => (value?.status === 'evaluated' ? value.action : value?.status));
    expect(actions.filter((action) => action === 'deactivated')).toHaveLength(1);
    expect(actions.filter((action) => action === 'none')).toHaveLength(9);
    expect(world.proxy.count('iam.UpdateAccessKey')).toBe(1);
    expect(activeIds(await world.keysOf(userName))).toEqual([kept.id]);
    expect(await world.findingsOf(userName)).toHaveLength(1);
  });

  it('never leaves both keys inactive when two separate instances race on one user', async () => {
    // Each instance is its own module graph, as two Lambda execution environments would be: the per-user queue
    // in the engine does not span them.
    vi.resetModules();
    const first = (await import('../../functions/detector/handler.ts'))
      .createDetector as typeof createDetector;
    vi.resetModules();
    const second = (await import('../../functions/detector/handler.ts'))
      .createDetector as typeof createDetector;
    expect(first).not.toBe(second);

    for (let trial = 0; trial < 6; trial++) {
      const { userName, kept, surplus } = await violatingUser(world, `race${trial}`);
      const instances = [
        startDetector({}, createClients({ region: REGION }), first),
        startDetector({}, createClients({ region: REGION }), second),
      ];
      world.proxy.reset();

      const outcomes = await Promise.all(
        instances.map((instance) => instance.deliverAll(burst(userName, kept, surplus, 5))),
      );
      figures.deliveries += 10;
      figures.concurrentDeliveries += 10;
      figures.crossInstanceTrials += 1;
      const writes = instances.flatMap((instance) => instance.updates);
      figures.crossInstanceWrites.push(writes.length);

      expect(outcomes.flatMap((outcome) => outcome.settled).every((result) => result.ok)).toBe(true);
      // Both instances choose the same key from the same IAM data, so a second write repeats the first.
      expect(activeIds(await world.keysOf(userName))).toEqual([kept.id]);
      expect(writes.length).toBeGreaterThanOrEqual(1);
      expect(writes.length).toBeLessThanOrEqual(2);
      for (const write of writes)
        expect(write).toEqual({ UserName: userName, AccessKeyId: surplus.id, Status: 'Inactive' });
      expect(await world.findingsOf(userName)).toHaveLength(1);
    }
  });
});
