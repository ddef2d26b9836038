export { main, type Io } from './main';
export { scanGlobals } from './globals';
export { openSession, type Session } from './session';
export { initProject, listTemplates, formatInitResult, formatTemplateList, templatesDir, type InitOptions, type InitResult, type TemplateInfo } from './commands/init';
