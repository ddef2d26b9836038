import type { core } from 'zod';
import { ConfigError } from '../errors';
import { didYouMean } from '../suggest';

type Issue = core.$ZodIssue;

function join(prefix: string, path: readonly PropertyKey[]): string {
  return [prefix, ...path.map(String)].filter((s) => s !== '').join('.');
}

function describeOne(issue: Issue, prefix: string, knownKeys?: (path: string) => string[] | undefined): { path: string; text: string } {
  const at = join(prefix, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = issue.keys.map((k) => {
        const guess = didYouMean(k, knownKeys?.(at) ?? []);
        return guess ? `'${k}' (did you mean '${guess}'?)` : `'${k}'`;
      });
      return { path: issue.keys.length === 1 ? join(at, [issue.keys[0]]) : at, text: `unknown option${keys.length > 1 ? 's' : ''} ${keys.join(', ')}` };
    }
    case 'invalid_type': {
      const received = (issue as { input?: unknown }).input;
      if (received === undefined) return { path: at, text: `required option missing (expected ${issue.expected})` };
      return { path: at, text: `expected ${issue.expected}, got ${JSON.stringify(received)}` };
    }
    default:
      return { path: at, text: issue.message };
  }
}

/**
 * Turns schema issues into one ConfigError: the first issue leads (with its origin),
 * the rest follow on their own lines.
 */
export function describeIssues(
  issues: readonly Issue[],
  prefix: string,
  locate: (path: string) => string,
  what: string,
  knownKeys?: (path: string) => string[] | undefined,
  hint?: string,
): ConfigError {
  const described = issues.map((i) => describeOne(i, prefix, knownKeys));
  const [first, ...rest] = described;
  const more = rest.map((d) => `\n  also ${locate(d.path)}: ${d.text}`).join('');
  return new ConfigError(`invalid ${what}: ${first.text}${more}`, {
    where: locate(first.path),
    hint: hint ?? 'run `kiln plugins` to see every option with its type and default',
  });
}
