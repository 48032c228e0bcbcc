import { describe, expect, it } from 'vitest';
import { emulatorEnv, mapLimit, startEmulator } from '../../scripts/lib/emulator.ts';

describe('mapLimit', () => {
  it('keeps the order of the items and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapLimit([30, 10, 20, 0, 5], 2, async (delay, index) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, delay));
      running--;
      return index;
    });

    expect(results).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
  });

  it('throws when the limit is not a whole number of at least 1', async () => {
    await expect(mapLimit([1], 0, async (item) => item)).rejects.toThrow(RangeError);
  });
});

describe('startEmulator', () => {
  it('uses AWS_ENDPOINT_URL without starting or stopping anything when it is set', async () => {
    const emulator = await startEmulator({ AWS_ENDPOINT_URL: 'http://127.0.0.1:4566/' });

    expect(emulator).toMatchObject({ endpoint: 'http://127.0.0.1:4566', owned: false });
  });
});

describe('emulatorEnv', () => {
  it('points the SDK at the endpoint with dummy credentials, keeping credentials already set', () => {
    expect(emulatorEnv('http://127.0.0.1:5000', {})).toMatchObject({
      AWS_ENDPOINT_URL: 'http://127.0.0.1:5000',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
    });
    expect(emulatorEnv('http://127.0.0.1:5000', { AWS_ACCESS_KEY_ID: 'mine' }).AWS_ACCESS_KEY_ID).toBe(
      'mine',
    );
  });
});
