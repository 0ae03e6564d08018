import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usableCores } from '../../../../src/asr/local/decoder-pool.js';
import { tempDirForTest } from '../../../helpers/cleanup.js';

describe('decoder threads follow the cores the process may use', () => {
  it("reads a container's CPU quota (cgroup v2 cpu.max), never above the machine's cores", async () => {
    const dir = await tempDirForTest('cb-cpumax-');
    const file = (text: string): string => {
      const path = join(dir, `cpu.max.${text.replace(/\W/g, '_')}`);
      writeFileSync(path, `${text}\n`);
      return path;
    };
    expect(usableCores(file('max 100000'))).toBe(availableParallelism());
    expect(usableCores(file('50000 100000'))).toBe(1);
    expect(usableCores(file('100000 100000'))).toBe(1);
    expect(usableCores(file('150000 100000'))).toBe(Math.min(2, availableParallelism()));
    expect(usableCores(file('6400000 100000'))).toBe(availableParallelism());
    expect(usableCores(join(dir, 'missing'))).toBe(availableParallelism());
  });
});
