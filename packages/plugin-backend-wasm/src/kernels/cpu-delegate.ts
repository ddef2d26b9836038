import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

type KernelFunc = tf.KernelConfig['kernelFunc'];

interface DataBackend {
  write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): object;
  readSync(dataId: object): tf.backend_util.BackendValues;
  disposeData(dataId: object, force?: boolean): boolean;
}

/**
 * A wasm kernel that runs tfjs-backend-cpu's implementation of the same kernel on a copy
 * of the inputs. Used where the wasm kernel gives wrong results; fine for cheap kernels
 * (pooling and resize gradients are O(size of dy)).
 */
export function cpuDelegate(kernelName: string, outputShape?: (inputs: tf.NamedTensorInfoMap) => number[]): KernelFunc {
  return ({ inputs, attrs }) => {
    const kernel = tf.getKernel(kernelName, 'cpu');
    if (kernel === undefined) throw new Error(`Kernel '${kernelName}' not registered for backend 'cpu'`);
    const cpu = tf.engine().findBackend('cpu') as unknown as DataBackend & tf.KernelBackend & { firstUse?: boolean };
    cpu.firstUse = false;
    const written: object[] = [];
    const cpuInputs: tf.NamedTensorInfoMap = {};
    for (const [name, t] of Object.entries(inputs)) {
      if (t === undefined || t === null) continue;
      const tensor = t as tf.Tensor;
      const dataId = cpu.write(tensor.dataSync(), tensor.shape, tensor.dtype);
      written.push(dataId);
      cpuInputs[name] = { dataId, shape: tensor.shape, dtype: tensor.dtype };
    }
    try {
      const out = kernel.kernelFunc({ inputs: cpuInputs, attrs, backend: cpu });
      const outs = Array.isArray(out) ? out : [out];
      const results = outs.map((info) => {
        const values = cpu.readSync(info.dataId);
        cpu.disposeData(info.dataId, true);
        return tf.tensor(values as tf.TypedArray, outputShape ? outputShape(inputs) : info.shape, info.dtype);
      });
      return Array.isArray(out) ? results : results[0];
    } finally {
      for (const dataId of written) cpu.disposeData(dataId, true);
    }
  };
}
