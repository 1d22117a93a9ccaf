#!/usr/bin/env node
// The `ctmap` executable (package.json bin).
import { main } from './program.js';

process.exitCode = main(process.argv.slice(2));
