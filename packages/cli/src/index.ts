export { main, type Io } from './main';
export { scanGlobals } from './globals';
export { openSession, type Session } from './session';
