// Parses Mermaid files with the real Mermaid parser and fails on any syntax error.
// Usage: node parse.mjs FILE.mmd...   (tests/mermaid/check.sh prepares the files)
//
// Mermaid's parser sanitises labels with DOMPurify, which needs a DOM: a jsdom window is put on
// the globals before mermaid is first imported.
import { readFile } from 'node:fs/promises';
import { JSDOM } from 'jsdom';

const { window } = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node parse.mjs FILE.mmd...');
  process.exit(2);
}

let passed = 0;
let failed = 0;
for (const file of files) {
  const text = await readFile(file, 'utf8');
  try {
    const result = await mermaid.parse(text);
    if (!result || !String(result.diagramType).startsWith('flowchart')) {
      throw new Error(`not a flowchart (diagram type ${result && result.diagramType})`);
    }
    passed += 1;
  } catch (error) {
    failed += 1;
    const message = String((error && error.message) || error);
    console.error(`FAIL ${file}\n${message.split('\n').slice(0, 6).join('\n')}\n`);
  }
}
console.log(`mermaid: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
