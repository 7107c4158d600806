// Renovate's global (self-hosted) configuration for the weekly run
// (.github/workflows/renovate.yml, make renovate). The repository's own rules
// are in /renovate.json5; these apply on top and cannot be changed by a branch.
//
// KREO_TRUSTED_ROOT is the workflow's checkout of main, with main's toolchain
// installed (make install). A Renovate branch's lock files and docs/versions.md
// are rewritten by the Makefile *of that checkout*, run in the branch's clone:
// nothing of the branch (its Makefile included) is executed, and no code of an
// updated dependency runs (wheels only, npm without scripts). That one command is
// the only one allowed.
const path = require('node:path');

const root = process.env.KREO_TRUSTED_ROOT;
if (!root || !path.isAbsolute(root) || /[\s'"\\$`]/.test(root)) {
  // The command runs without a shell, split on whitespace: a path must be one word.
  throw new Error("KREO_TRUSTED_ROOT must be the absolute path of main's checkout, without spaces or quotes");
}
const artifacts = `make -f ${path.join(root, 'Makefile')} renovate-artifacts`;
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

module.exports = {
  platform: 'github',
  onboarding: false,
  requireConfig: 'required',
  // Tools are the runner's (setup-python, setup-node) and main's toolchain; no
  // Docker sidecars, no tool downloads.
  binarySource: 'global',
  // Renovate's own lock-file updates would run the package managers in the branch;
  // the post-upgrade task re-locks instead.
  postUpgradeTasks: {
    commands: [artifacts],
    fileFilters: ['Pipfile.lock', 'package-lock.json', 'tools/renovate/package-lock.json', 'docs/versions.md'],
    executionMode: 'branch',
  },
  allowedCommands: [`^${escape(artifacts)}$`],
};
