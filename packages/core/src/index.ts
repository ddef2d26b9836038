import 'reflect-metadata';

export * from './errors';
export * from './suggest';
export * from './hooks';
export * from './points';
export * from './plugin';
export * from './version';
export * from './services/logger';
export * from './services/rng';
export * from './services/clock';
export * from './config/schema';
export * from './config/paths';
export * from './config/origins';
export * from './config/load';
export { describeIssues } from './config/issues';
export * from './kernel/kernel';
export * from './kernel/bootstrap';
