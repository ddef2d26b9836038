import { definePlugin, Tokens } from '@kiln/core';
import { exportCommand, predictCommand, serveCommand, startServing, type Serving } from './commands';
import { OnnxExporter, OnnxExporterOptions } from './onnx/onnx-exporter';
import { TfjsExporter, TfjsExporterOptions } from './tfjs/tfjs-exporter';

export * from './card';
export * from './tfjs/file-io-handler';
export * from './tfjs/tfjs-exporter';
export * from './onnx/convert';
export * from './onnx/verify';
export * from './onnx/onnx-exporter';
export * from './onnx/bert-graph';
export * from './run-loader';
export * from './export-model';
export * from './predict/predictor';
export * from './predict/inputs';
export * from './predict/postprocess';
export * from './predict/text';
export * from './predict/predict';
export * from './serve/batcher';
export * from './serve/server';
export * from './serve/served-model';
export * from './serve/champion-watcher';
export { exportCommand, predictCommand, serveCommand, startServing, type Serving };

export default definePlugin({
  name: '@kiln/plugin-export',
  version: '0.1.0',
  kiln: '^0.1.0',
  description: 'Exporters (tfjs layers format, ONNX verified in ONNX Runtime) and the export, predict and serve commands.',
  register(ctx) {
    ctx.provide(Tokens.Exporter, 'tfjs', () => new TfjsExporter(), TfjsExporterOptions, { description: 'model.json + weight shard, loadable by tf.loadLayersModel' });
    ctx.provide(Tokens.Exporter, 'onnx', (o) => new OnnxExporter(o), OnnxExporterOptions, { description: 'ONNX opset 17 graph with a dynamic batch axis, checked in ONNX Runtime' });
    ctx.command(exportCommand);
    ctx.command(predictCommand);
    ctx.command(serveCommand);
  },
});
