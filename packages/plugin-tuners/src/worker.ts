import { ConsoleLogger } from '@kiln/core';
import { runTrial } from './study/run-trial';
import type { StudyMessage, WorkerMessage } from './study/process-executor';

// A trial worker: receives one TrialJob over IPC, trains it, relays epoch reports and waits for the prune decision.
let waiting: ((decision: 'continue' | 'prune') => void) | undefined;
const send = (message: WorkerMessage) => process.send!(message);

process.on('message', (message: StudyMessage) => {
  if (message.type === 'decision') {
    waiting?.(message.decision);
    waiting = undefined;
    return;
  }
  void runTrial(
    message.job,
    (report) =>
      new Promise((resolve) => {
        waiting = resolve;
        send({ type: 'epoch', ...report });
      }),
    new ConsoleLogger('warn'),
  ).then((outcome) => {
    send({ type: 'done', outcome });
  });
});
process.on('disconnect', () => process.exit(0));
