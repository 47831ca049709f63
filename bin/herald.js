#!/usr/bin/env node
// The one executable: `herald --help` lists the commands (cli.ts); development tools have their own (dev/cli.ts).
import "../dist/cli.js";
