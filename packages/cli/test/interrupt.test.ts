// The command answers SIGINT and SIGTERM at any point: a parse of a large rule file (seconds of work)
// ends at once with exit code 128 + the signal's number, as shells report an interrupted command.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect, start } from './graylane.js';

/** A valid native rule file of `lanes` lanes, each with a header rule: a few MB of YAML. */
function bigRuleFile(lanes: number): string {
  const lines = ['apiVersion: graylane.io/v1alpha1', 'kind: LaneRules', 'spec:', '  lanes:'];
  for (let i = 0; i < lanes; i++) {
    lines.push(`    - tag: l${i}`, '      match:', `        - { type: header, name: x-user, operator: '==', value: 'u${i}' }`);
  }
  return `${lines.join('\n')}\n`;
}

describe('graylane rules validate, interrupted', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'graylane-interrupt-'));
    file = join(dir, 'big.yaml');
    writeFileSync(file, bigRuleFile(50_000));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s mid-parse ends the command within a second, exit code %i', async (signal, expected) => {
    const child = start(['rules', 'validate', file]);
    const output = collect(child);
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('close', (code) => resolve({ code, at: Date.now() })));
    // Long enough for the command to be parsing (node start-up and the read take well under this),
    // far shorter than the parse (several seconds for 50,000 lanes on this machine).
    await new Promise((r) => setTimeout(r, 700));
    expect({ exitedBeforeTheSignal: child.exitCode !== null, stdout: output.stdout }).toEqual({ exitedBeforeTheSignal: false, stdout: '' });
    const sentAt = Date.now();
    child.kill(signal);
    const { code, at } = await exited;
    expect(code).toBe(expected);
    expect(output.stderr).toBe(`graylane: interrupted by ${signal}\n`);
    expect(at - sentAt).toBeLessThan(1000);
  });
});
