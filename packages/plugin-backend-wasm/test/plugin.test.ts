import { Kernel, Tokens, KilnError } from '@kiln/core';
import plugin, { CpuBackend, WasmBackend } from '../src';

describe('@kiln/plugin-backend-wasm plugin', () => {
  it('provides the wasm (50) and cpu (10) backends by name, without activating anything', async () => {
    const kernel = new Kernel();
    await kernel.use(plugin);
    expect(kernel.names(Tokens.Backend).sort()).toEqual(['cpu', 'wasm']);
    const wasm = await kernel.build(Tokens.Backend, { type: 'wasm' }, 'backend');
    const cpu = await kernel.build(Tokens.Backend, { type: 'cpu' }, 'backend');
    expect(wasm).toBeInstanceOf(WasmBackend);
    expect(cpu).toBeInstanceOf(CpuBackend);
    expect([wasm.name, wasm.priority, cpu.name, cpu.priority]).toEqual(['wasm', 50, 'cpu', 10]);
    expect(await wasm.availability()).toEqual({ ok: true });
  });

  it('validates wasm options with its schema', async () => {
    const kernel = new Kernel();
    await kernel.use(plugin);
    const error = await kernel.build(Tokens.Backend, { type: 'wasm', threads: 4 }, 'backend').then(() => undefined, (e: unknown) => e);
    expect(KilnError.is(error)).toBe(true);
    await expect(kernel.build(Tokens.Backend, { type: 'wasm', simd: false }, 'backend')).resolves.toBeInstanceOf(WasmBackend);
  });
});
