import { Hooks, TRAINING_HOOK_ORDER } from '@kiln/core';

describe('Hooks', () => {
  it('declares every documented training hook', () => {
    const hooks = new Hooks() as unknown as Record<string, unknown>;
    for (const name of TRAINING_HOOK_ORDER) expect(hooks[name]).toBeDefined();
  });

  it('a bail hook stops a loop at the first tap that returns a reason', () => {
    const hooks = new Hooks();
    const calls: string[] = [];
    hooks.shouldStop.tap('First', (c) => {
      calls.push(`first@${c.step}`);
      return undefined;
    });
    hooks.shouldStop.tap('EarlyStopping', (c) => (c.logs.loss < 0.5 ? 'loss below 0.5' : undefined));
    hooks.shouldStop.tap('Last', () => {
      calls.push('never');
      return undefined;
    });
    let step = 0;
    let reason: string | undefined;
    const losses = [0.9, 0.7, 0.4, 0.2];
    while (!reason && step < losses.length) {
      reason = hooks.shouldStop.call({ phase: 'step', epoch: 0, step, logs: { loss: losses[step] } });
      step++;
    }
    expect(reason).toBe('loss below 0.5');
    expect(step).toBe(3);
    // The tap after the one that bailed does not run on the last step.
    expect(calls).toEqual(['first@0', 'never', 'first@1', 'never', 'first@2']);
  });

  it('waterfall hooks thread a value through every tap', () => {
    const hooks = new Hooks();
    hooks.modifyConfig.tap('A', (c) => ({ ...c, seed: c.seed + 1 }));
    hooks.modifyConfig.tap('B', (c) => ({ ...c, seed: c.seed * 10 }));
    const out = hooks.modifyConfig.call({ seed: 1 } as never);
    expect(out.seed).toBe(20);
  });
});
