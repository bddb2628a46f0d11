#!/usr/bin/env node
// Runs the vitest suite and ends with one plain summary line,
// "tests: N passed, N failed, N skipped", which CI reads. Exits with
// vitest's status, and non-zero when no test ran at all.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dmem-vitest-')), 'report.json');
const vitest = path.join(path.dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const run = spawnSync(
  process.execPath,
  [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
let status = run.status ?? 1;
try {
  const r = JSON.parse(fs.readFileSync(report, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  process.stdout.write(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped\n`);
  if (r.numPassedTests + r.numFailedTests === 0) {
    process.stderr.write('run-tests: no test ran\n');
    status = status || 1;
  }
} catch (error) {
  process.stderr.write(`run-tests: no vitest report (${error.message})\n`);
  status = status || 1;
}
fs.rmSync(path.dirname(report), { recursive: true, force: true });
process.exitCode = status;
