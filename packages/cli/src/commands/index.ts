import type { Command } from '@kiln/core';
import { pluginsCommand } from './plugins';
import { configCommand } from './config';
import { infoCommand } from './info';
import { evaluateCommand, trainCommand } from './train';
import { initCommand } from './init';

/** Commands the CLI itself provides; plugins add theirs through `ctx.command`. */
export function builtinCommands(): Command[] {
  return [pluginsCommand, configCommand, infoCommand, trainCommand, evaluateCommand, initCommand];
}
