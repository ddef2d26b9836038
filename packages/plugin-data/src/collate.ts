/** Batching lives in the engine; re-exported here for tools built on the data plugin. */
export { collate, disposeBatch } from '@kiln/core';
