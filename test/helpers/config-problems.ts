import { checkConfig, ConfigError } from '../../src/config/load.js';

/** Every problem the config check finds in `yaml`, as "LINE:COLUMN yaml.path: message"; [] when it is valid. */
export function configProblems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    checkConfig(yaml, 'c.yaml', env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}
