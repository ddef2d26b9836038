#!/usr/bin/env node
// Logging overhead of @kiln/plugin-mlflow, measured side by side in one run:
// file store (one append per metric key per step) vs REST buffered (log-batch of 200) vs REST unbuffered (batch of 1),
// against a local node:http server that accepts MLflow's endpoints. Usage: node bench/mlflow.js [steps]
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { MlflowFileTracker, MlflowRestTracker } = require('../packages/plugin-mlflow/dist');

const STEPS = Number(process.argv[2] ?? 2000);
const METRICS_PER_STEP = 4;

function localServer() {
  let received = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      let out = {};
      if (url.pathname.endsWith('/experiments/get-by-name')) out = { experiment: { experiment_id: '1' } };
      else if (url.pathname.endsWith('/runs/create')) out = { run: { info: { run_id: 'bench0000000000000000000000000000', artifact_uri: 'mlflow-artifacts:/1/bench/artifacts' } } };
      else if (url.pathname.endsWith('/runs/log-batch')) received += JSON.parse(body).metrics.length;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, uri: `http://127.0.0.1:${server.address().port}`, received: () => received })));
}

async function time(tracker) {
  await tracker.startRun({ experiment: 'bench' });
  const start = process.hrtime.bigint();
  for (let s = 0; s < STEPS; s++) {
    const m = {};
    for (let k = 0; k < METRICS_PER_STEP; k++) m[`metric_${k}`] = Math.sin(s + k);
    await tracker.logMetrics(m, s);
  }
  await tracker.flush();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await tracker.endRun('FINISHED');
  return seconds;
}

(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-mlflow-'));
  const { server, uri, received } = await localServer();
  try {
    const points = STEPS * METRICS_PER_STEP;
    const file = await time(new MlflowFileTracker({ root: path.join(dir, 'mlruns') }));
    const buffered = await time(new MlflowRestTracker({ uri, batchSize: 200, env: {}, spoolDir: dir }));
    const unbuffered = await time(new MlflowRestTracker({ uri, batchSize: 1, env: {}, spoolDir: dir }));
    if (received() !== 2 * points) throw new Error(`server got ${received()} points, expected ${2 * points}`);
    const row = (name, s) => `${name.padEnd(28)} ${(s * 1e3).toFixed(0).padStart(7)} ms  ${(points / s).toFixed(0).padStart(9)} points/s  ${((s / STEPS) * 1e6).toFixed(1).padStart(8)} µs/step`;
    console.log(`${STEPS} steps × ${METRICS_PER_STEP} metrics = ${points} points, node ${process.version}, ${os.cpus().length} cpus`);
    console.log(row('file store (mlruns/)', file));
    console.log(row('REST, log-batch of 200', buffered));
    console.log(row('REST, batch of 1', unbuffered));
    console.log(`ratio REST unbuffered / buffered: ${(unbuffered / buffered).toFixed(1)}×; file store / REST buffered: ${(file / buffered).toFixed(2)}×`);
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
