import { parse, stringify } from 'yaml';

/**
 * meta.yaml as MLflow writes it with PyYAML (`safe_dump`, sorted keys, block style). YAML 1.1
 * rules, as PyYAML reads them: strings such as 'yes', 'on' or '1_000' are quoted to stay strings.
 */
export function toMlflowYaml(data: Record<string, unknown>): string {
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(data).sort()) sorted[key] = data[key];
  return stringify(sorted, { version: '1.1', singleQuote: true, lineWidth: 0 });
}

export function parseMlflowYaml(text: string): unknown {
  return parse(text, { version: '1.1' });
}
