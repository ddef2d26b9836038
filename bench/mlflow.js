#!/usr/bin/env node
// Logging overhead of @kiln/plugin-mlflow, measured side by side in one run:
// file store (one append per metric key per step) vs REST buffered (log-batch of 200) vs REST unbuffered (batch of 1),
// against a local node:http server that accepts MLflow's endpoints. Usage: node bench/mlflow.js [steps]
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { MlflowFileTracker, MlflowRestTracker, writeRunReport } = require('../packages/plugin-mlflow/dist');

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

async function time(tracker, onRun = () => undefined) {
  const { runId } = await tracker.startRun({ experiment: 'bench' });
  onRun(runId);
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
    let fileRunId;
    const file = await time(new MlflowFileTracker({ root: path.join(dir, 'mlruns') }), (id) => (fileRunId = id));
    const buffered = await time(new MlflowRestTracker({ uri, batchSize: 200, env: {}, spoolDir: dir }));
    const unbuffered = await time(new MlflowRestTracker({ uri, batchSize: 1, env: {}, spoolDir: dir }));
    if (received() !== 2 * points) throw new Error(`server got ${received()} points, expected ${2 * points}`);
    const row = (name, s) => `${name.padEnd(28)} ${(s * 1e3).toFixed(0).padStart(7)} ms  ${(points / s).toFixed(0).padStart(9)} points/s  ${((s / STEPS) * 1e6).toFixed(1).padStart(8)} µs/step`;
    console.log(`${STEPS} steps × ${METRICS_PER_STEP} metrics = ${points} points, node ${process.version}, ${os.cpus().length} cpus`);
    console.log(row('file store (mlruns/)', file));
    console.log(row('REST, log-batch of 200', buffered));
    console.log(row('REST, batch of 1', unbuffered));
    console.log(`ratio REST unbuffered / buffered: ${(unbuffered / buffered).toFixed(1)}×; file store / REST buffered: ${(file / buffered).toFixed(2)}×`);

    // kiln report of the file-store run: read the store, render one SVG chart per metric.
    let start = process.hrtime.bigint();
    const report = writeRunReport(fileRunId, { store: path.join(dir, 'mlruns'), out: path.join(dir, 'report.html'), cwd: dir });
    const reportMs = Number(process.hrtime.bigint() - start) / 1e6;
    console.log(`kiln report of that run: ${reportMs.toFixed(0)} ms, ${(fs.statSync(report).size / 1024).toFixed(0)} KiB of self-contained HTML`);

    // flush() once per epoch while the server is down: one attempt each, no backoff wait.
    const down = new MlflowRestTracker({ uri, batchSize: 1000, flushIntervalMs: 60_000, env: {}, spoolDir: dir, retry: { attempts: 5, initialDelayMs: 250, maxDelayMs: 8000 } });
    await down.startRun({ experiment: 'bench' });
    await new Promise((resolve) => server.close(resolve));
    const flushes = 20;
    start = process.hrtime.bigint();
    for (let e = 0; e < flushes; e++) {
      await down.logMetrics({ loss: 1 / (e + 1) }, e);
      await down.flush();
    }
    const flushMs = Number(process.hrtime.bigint() - start) / 1e6 / flushes;
    console.log(`REST flush() per epoch with the server down: ${flushMs.toFixed(2)} ms (${down.unsentCount} points kept for later; retries alone would wait ≥ 250 ms)`);
    start = process.hrtime.bigint();
    await down.endRun('KILLED');
    console.log(`REST endRun('KILLED') with the server down: ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(1)} ms, spooled to ${path.basename(down.lastSpoolFile)}`);
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
