import * as tf from '@tensorflow/tfjs-core';
import { addonLoad, describeNative } from './helpers';
import * as os from 'os';
import * as path from 'path';
import plugin, { NativeBackend } from '../src/index';
import { loadAddonFrom } from '../src/addon';

describeNative('native backend plugin', () => {
  test('activates kiln-native and reports ISA, threads and where the binary came from', async () => {
    const backend = new NativeBackend();
    expect(backend.priority).toBeGreaterThan(50);
    expect(await backend.availability()).toEqual({ ok: true });
    const info = await backend.activate();
    expect(tf.getBackend()).toBe('kiln-native');
    expect(info.name).toBe('native');
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(['avx512', 'avx2', 'fallback']).toContain(info.details?.isa);
    expect(String(info.details?.binary)).toMatch(/^(prebuilt|local build) \(/);
    expect(String(info.details?.kernels)).toContain('Conv2DBackpropFilter');
    expect(plugin.name).toBe('@kiln/plugin-backend-native');
  });

  test('under the sanitizer script, the loaded addon is the ASan/UBSan build', () => {
    if (!addonLoad.ok) return;
    expect(addonLoad.addon.info().sanitized).toBe(process.env.KILN_NATIVE_EXPECT_SANITIZED === '1');
  });

  test('rejects an unknown ISA option through its schema', () => {
    expect(() => new NativeBackend({ isa: 'sse9' as never })).toThrow();
  });
});

describe('native backend when the addon is missing', () => {
  test('the load failure says why and how to rebuild', () => {
    const load = loadAddonFrom(path.join(os.tmpdir(), 'no-such-dir', 'kiln_native.node'));
    expect(load.ok).toBe(false);
    if (!load.ok) {
      expect(load.reason).toContain('native addon did not build or load');
      expect(load.reason).toContain('npm rebuild @kiln/plugin-backend-native');
    }
  });
});
