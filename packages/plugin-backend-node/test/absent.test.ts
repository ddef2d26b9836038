import { KilnError } from '@kiln/core';
import { TensorflowBackend, TensorflowGpuBackend } from '../src/tfjs-node-backend';

// tfjs-node and tfjs-node-gpu are optional peers and not installed in this repo: this is the real absent path.
describe.each([
  ['tensorflow', () => new TensorflowBackend(), '@tensorflow/tfjs-node', 80],
  ['tensorflow-gpu', () => new TensorflowGpuBackend(), '@tensorflow/tfjs-node-gpu', 90],
] as const)('%s backend without its package', (name, make, pkg, priority) => {
  it('is not installed here', () => {
    expect(() => require.resolve(`${pkg}/package.json`)).toThrow();
  });

  it('reports unavailable with the install command', async () => {
    const backend = make();
    expect(backend.name).toBe(name);
    expect(backend.priority).toBe(priority);
    expect(await backend.availability()).toEqual({ ok: false, reason: `${pkg} is not installed`, install: `npm install ${pkg}` });
  });

  it('activate() throws a BackendError naming the backend and the install command', async () => {
    const error = await make().activate().then(() => undefined, (e: unknown) => e);
    expect(KilnError.is(error)).toBe(true);
    const k = error as KilnError;
    expect(k.code).toBe('E_BACKEND');
    expect(k.where).toBe(`backend: ${name}`);
    expect(k.hint).toContain(`npm install ${pkg}`);
  });
});
