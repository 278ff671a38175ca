#!/usr/bin/env node
// Checked-in entry point: npm links it at install time, before the TypeScript is built.
import '../dist/src/main.js';
