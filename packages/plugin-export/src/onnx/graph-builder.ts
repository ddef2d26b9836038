import { onnx } from 'onnx-proto';

export type AttributeValue = number | number[] | string | { float: number };

const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;
export const INT32 = onnx.TensorProto.DataType.INT32;

function attribute(name: string, value: AttributeValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if (typeof value === 'object') return { name, type: T.FLOAT, f: value.float };
  return { name, type: T.INT, i: value };
}

/** Accumulates nodes and initializers of one ONNX graph, with unique value names. */
export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private readonly used = new Set<string>();

  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_');
    let name = clean;
    for (let i = 1; this.used.has(name); i++) name = `${clean}_${i}`;
    this.used.add(name);
    return name;
  }

  reserve(name: string): void {
    this.used.add(name);
  }

  /** Adds a node; returns its (single) output name. */
  op(type: string, inputs: string[], attrs: Record<string, AttributeValue> = {}, outName?: string): string {
    const output = outName ?? this.unique(`${type.toLowerCase()}`);
    this.nodes.push({
      opType: type,
      name: this.unique(`${output}_node`),
      input: inputs,
      output: [output],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return output;
  }

  floatConst(base: string, dims: number[], values: ArrayLike<number>): string {
    const name = this.unique(base);
    const data = Float32Array.from(values);
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  int64Const(base: string, values: number[]): string {
    const name = this.unique(base);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  scalar(base: string, value: number): string {
    const name = this.unique(base);
    this.initializers.push({ name, dims: [], dataType: FLOAT, rawData: new Uint8Array(Float32Array.of(value).buffer) });
    return name;
  }
}

export function valueInfo(name: string, elemType: number, shape: (number | null)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d, i) => (d === null || d === undefined ? { dimParam: i === 0 ? 'batch' : `dim${i}` } : { dimValue: d })) },
      },
    },
  };
}

export function encodeModel(builder: GraphBuilder, inputs: onnx.IValueInfoProto[], outputs: onnx.IValueInfoProto[], opset: number, name: string, producerVersion: string): Uint8Array {
  const model: onnx.IModelProto = {
    irVersion: 8,
    producerName: 'kiln',
    producerVersion,
    opsetImport: [{ domain: '', version: opset }],
    graph: { name, node: builder.nodes, initializer: builder.initializers, input: inputs, output: outputs },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
