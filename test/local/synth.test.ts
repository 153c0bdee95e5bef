import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { assembliesHome, latestTemplatePath, synthesizeTemplate } from '../../lib/local/synth.ts';

let home: string;
beforeAll(() => {
  home = mkdtempSync(path.join(tmpdir(), 'mass-refund-synth-'));
  vi.stubEnv('MASS_REFUND_HOME', home);
});
afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(home, { recursive: true, force: true });
});

describe('the local cloud assemblies', () => {
  it('gives each version its own assembly: a runtime started on one keeps its bundles while another is synthesized', async () => {
    // prepare: the old single-directory layout, five older assemblies, a synthesis that died a week ago
    const cdkOut = assembliesHome();
    mkdirSync(cdkOut, { recursive: true });
    writeFileSync(path.join(cdkOut, 'MassRefund.template.json'), '{}');
    const weekAgo = Date.now() / 1000 - 7 * 86_400;
    const older = ['00000000000000a1', '00000000000000a2', '00000000000000a3', '00000000000000a4', '00000000000000a5'];
    older.forEach((name, i) => {
      mkdirSync(path.join(cdkOut, name));
      utimesSync(path.join(cdkOut, name), weekAgo + i, weekAgo + i);
    });
    mkdirSync(path.join(cdkOut, '00000000000000a6.tmp-1-1'));
    utimesSync(path.join(cdkOut, '00000000000000a6.tmp-1-1'), weekAgo, weekAgo);

    // act: one version (the sources), then another (the bundles), as a test run would while a runtime runs
    const running = await synthesizeTemplate({ handlers: 'source' });
    const next = await synthesizeTemplate({ handlers: 'bundles' });

    // assess
    expect(path.dirname(running.path)).not.toBe(path.dirname(next.path));
    expect(existsSync(running.path), 'the running version keeps its assembly').toBe(true);
    expect(latestTemplatePath()).toBe(next.path);
    const left = readdirSync(cdkOut).sort();
    expect(left).toContain('latest');
    expect(left.filter((n) => n.startsWith('00000000000000a')), 'the two newest older ones kept').toEqual(['00000000000000a4', '00000000000000a5']);
    expect(left).not.toContain('MassRefund.template.json');
    expect(next.template['Resources']).toBeDefined();
  }, 240_000);

  it('reuses an unchanged assembly without synthesizing again', async () => {
    const again = await synthesizeTemplate({ handlers: 'bundles' });
    expect(again.synthMs).toBe(0);
    expect(latestTemplatePath()).toBe(again.path);
  }, 60_000);
});
