#!/usr/bin/env node
// The `ctmap` executable. package.json's bin is the bundle the Makefile builds from this file (dist/bin/ctmap.cjs).
import { main } from './program.js';

void main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
