// Times the TypeScript SDK's validator (deserialize + validate) on the given files, in one
// process, the same way `workflow validate` is timed. Prints JSON: {files, valid, invalid, ms}.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import sdk from '@serverlessworkflow/sdk';

const { Classes } = sdk;

const started = performance.now();
let valid = 0;
let invalid = 0;
for (const file of process.argv.slice(2)) {
  try {
    // The SDK refuses any `document.dsl` but its own 1.0.0; the spec examples say 1.0.3.
    const text = readFileSync(file, 'utf8').replace(/dsl:\s*['"]?1\.0\.\d+['"]?/, "dsl: '1.0.0'");
    const workflow = Classes.Workflow.deserialize(text);
    workflow.validate();
    valid += 1;
  } catch {
    invalid += 1;
  }
}
const ms = performance.now() - started;
console.log(JSON.stringify({ files: valid + invalid, valid, invalid, ms }));
