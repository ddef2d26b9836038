// One trial process for the concurrency test: writes its own run, and appends to a shared run.
const path = require('node:path');
const { MlflowFileTracker, MlflowFileStore, MlflowModelRegistry } = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

async function main() {
  const [root, sharedRunId, indexText, pointsText] = process.argv.slice(2);
  const index = Number(indexText);
  const points = Number(pointsText);
  const tracker = new MlflowFileTracker({ root });
  const { runId } = await tracker.startRun({ experiment: 'study', runName: `trial-${index}` });
  await tracker.logParams({ worker: index, lr: 0.1 * (index + 1) });
  const shared = new MlflowFileStore(root);
  shared.logParams(sharedRunId, { common: 'same' });
  const letter = String.fromCharCode(97 + index);
  for (let s = 0; s < points; s++) {
    await tracker.logMetrics({ loss: s + index / 10 }, s, 1000 + s);
    shared.logMetrics(sharedRunId, [{ key: 'shared', value: index * 1000 + s, timestamp: 5000 + s, step: s }]);
    // Every worker rewrites one tag with a long value of its own letter: readers must never see a mix.
    if (s % 10 === 0) shared.setTags(sharedRunId, { last: letter.repeat(4000) });
  }
  new MlflowModelRegistry(root).registerModel('classifier', `runs:/${runId}/model`, runId);
  await tracker.endRun('FINISHED');
  process.stdout.write(runId);
}
main().catch((error) => {
  process.stderr.write(String(error && error.stack));
  process.exit(1);
});
