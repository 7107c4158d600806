// Renovate's own rule engine over the committed extract (make renovate-check):
// for every extracted dependency and every update type (patch, minor, major), the
// settings renovate.json5's packageRules resolve to (presets included), written
// into tests/renovate/extract.json as `rules`, so make test can check grouping,
// holds and exclusions without Renovate (tests/kreo_infra/review/test_renovate.py).
// Usage: node tools/renovate/rules.mjs tests/renovate/extract.json
import { readFileSync, writeFileSync } from 'node:fs';
import JSON5 from 'json5';
import { getConfig } from 'renovate/dist/config/defaults.js';
import { resolveConfigPresets } from 'renovate/dist/config/presets/index.js';
import { mergeChildConfig } from 'renovate/dist/config/utils.js';
import { init as initLogger } from 'renovate/dist/logger/index.js';
import { applyPackageRules } from 'renovate/dist/util/package-rules/index.js';

const UPDATE_TYPES = ['patch', 'minor', 'major'];
// The settings a dependency's update ends up with that the tests read.
const KEPT = ['groupName', 'dependencyDashboardApproval', 'automerge', 'schedule', 'minimumReleaseAge', 'allowedVersions'];

const extractPath = process.argv[2];
if (!extractPath) {
  console.error('usage: node tools/renovate/rules.mjs <extract.json>');
  process.exit(2);
}
await initLogger();
const repoConfig = JSON5.parse(readFileSync('renovate.json5', 'utf8'));
// Renovate 44: resolveConfigPresets returns { config, visitedPresets }.
const { config: resolved } = await resolveConfigPresets(repoConfig);
const base = mergeChildConfig(getConfig(), resolved);
const extract = JSON.parse(readFileSync(extractPath, 'utf8'));

for (const dep of extract.deps) {
  const rules = {};
  for (const updateType of UPDATE_TYPES) {
    const input = mergeChildConfig(base, {
      manager: dep.manager,
      packageFile: dep.file,
      depName: dep.depName ?? undefined,
      packageName: dep.packageName ?? undefined,
      datasource: dep.datasource ?? undefined,
      depType: dep.depType ?? undefined,
      updateType,
      [`is${updateType[0].toUpperCase()}${updateType.slice(1)}`]: true,
    });
    const config = await applyPackageRules(input, 'update');
    const result = { enabled: config.enabled !== false && config.skipReason !== 'package-rules' };
    for (const key of KEPT) {
      if (config[key] !== undefined && config[key] !== null) result[key] = config[key];
    }
    result.prBodyNotes = (config.prBodyNotes ?? []).length > 0;
    rules[updateType] = result;
  }
  dep.rules = rules;
}
// The repository-wide settings the tests read, as Renovate resolves them, and
// the global configuration of the weekly run.
extract.settings = Object.fromEntries(
  ['schedule', 'timezone', 'prConcurrentLimit', 'minimumReleaseAge', 'automerge', 'postUpgradeTasks', 'skipArtifactsUpdate']
    .map((key) => [key, base[key] ?? null]),
);
// The global configuration names main's checkout by its absolute path; a fixed
// stand-in keeps the committed file the same on every machine.
process.env.KREO_TRUSTED_ROOT = '/kreo-trusted-root';
const { default: globalConfig } = await import(new URL('./config.cjs', import.meta.url));
extract.global = globalConfig;
writeFileSync(extractPath, `${JSON.stringify(extract, null, 2)}\n`);
