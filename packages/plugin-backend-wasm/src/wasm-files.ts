import * as path from 'path';

/**
 * Directory (with trailing separator) holding tfjs-backend-wasm's .wasm binaries.
 * In Node, setWasmPaths takes a file-system prefix; the binaries ship in the package's dist/.
 */
export function wasmBinaryDir(): string {
  const pkg = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  return path.join(path.dirname(pkg), 'dist') + path.sep;
}

/** Version of an installed package, or undefined when it is not resolvable. */
export function packageVersion(name: string): string | undefined {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}
