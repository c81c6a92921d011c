// Times the TypeScript SDK's validator (deserialize + validate) on the given files, in one
// process, the same way `workflow validate` is timed. Prints JSON: {files, valid, invalid, ms}.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Classes } from '@serverlessworkflow/sdk';

const started = performance.now();
let valid = 0;
let invalid = 0;
for (const file of process.argv.slice(2)) {
  try {
    const workflow = Classes.Workflow.deserialize(readFileSync(file, 'utf8'));
    workflow.validate();
    valid += 1;
  } catch {
    invalid += 1;
  }
}
const ms = performance.now() - started;
console.log(JSON.stringify({ files: valid + invalid, valid, invalid, ms }));
