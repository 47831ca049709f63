#!/usr/bin/env node
// The one executable: `herald push-node`, `herald operator` (development tools have their own: dev/cli.ts).
import "../dist/cli.js";
