// pnpm 10 has a built-in `pnpm doctor` (it checks pnpm's own configuration) that shadows the
// workshop's `doctor` script, so `pnpm doctor` would silently check the wrong things. pnpm loads
// this file before it runs any command; when the command is `doctor`, run the workshop's doctor
// instead and exit with its status. `pnpm run doctor` reaches the same script without this file.
// Everything else pnpm does is left alone (no hooks that change what gets installed).
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

// pnpm options that take a value as the next argument (`pnpm -C shared doctor`).
const OPTIONS_WITH_VALUE = new Set(['-C', '--dir', '-F', '--filter', '--filter-prod']);

function firstCommand(argv) {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-')) return arg;
    if (OPTIONS_WITH_VALUE.has(arg)) i++;
  }
  return undefined;
}

function runWorkshopDoctor() {
  const tsx = path.join(__dirname, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  if (!existsSync(tsx)) {
    console.error(
      'The workshop is not installed yet: run `pnpm install` first, then `pnpm doctor`.',
    );
    process.exit(1);
  }
  const doctor = path.join(__dirname, 'shared', 'workshop', 'src', 'doctor.ts');
  const result = spawnSync(process.execPath, [tsx, doctor, ...process.argv.slice(3)], {
    stdio: 'inherit',
  });
  process.exit(result.status ?? 1);
}

module.exports = {
  hooks: {
    updateConfig(config) {
      if (firstCommand(process.argv.slice(2)) === 'doctor') runWorkshopDoctor();
      return config;
    },
  },
};
