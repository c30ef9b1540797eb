#!/usr/bin/env node
import { CommanderError } from 'commander';
import { ConfigError, InstallError } from '../lib/errors.ts';
import { createProgram } from './cli/program.ts';

const program = createProgram();
const args = process.argv.slice(2);
try {
  if (args.length === 0) program.outputHelp();
  else await program.parseAsync(args, { from: 'user' });
} catch (error) {
  // Commander has already printed its message and the command's help.
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  if (error instanceof ConfigError || error instanceof InstallError) {
    console.error(`pgbridge: ${error.message}`);
    process.exit(2);
  }
  console.error(`pgbridge: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
