import { describeSnippets, GUIDES, removeProjectDirs } from './docs-helpers';

afterAll(removeProjectDirs);

describeSnippets(GUIDES);
