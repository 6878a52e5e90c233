#!/usr/bin/env node
// Entry point of the `serval` command: runs the compiled CLI (built by `npm install` through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('serval: dist/ is missing; run `npm install` (or `npm run build`) in the serval folder first');
  process.exit(1);
}
await import(main.href);
