import { graylane } from './graylane.js';

describe('the graylane command line', () => {
  it('lists the commands on --help (exit 0) and when none is given (exit 2)', async () => {
    const [help, none] = await Promise.all([graylane(['--help']), graylane([])]);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    for (const command of ['rules validate', 'rules explain', 'rules schema', 'rules convert', 'rules publish', 'lanes', 'token']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
    expect(none).toMatchObject({ code: 2, stdout: '', stderr: help.stdout });
  });

  it('prints each command\'s help with exit code 0', async () => {
    const commands = [['rules', 'validate'], ['rules', 'explain'], ['rules', 'schema'], ['rules', 'convert'], ['rules', 'publish'], ['lanes'], ['token']];
    const results = await Promise.all(commands.map((command) => graylane([...command, '--help'])));
    results.forEach((result, i) => {
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toMatch(new RegExp(`^Usage: graylane ${commands[i]!.join(' ')}`));
      expect(result.stdout).toMatch(/\nExit codes: /);
    });
  });

  it('exits 2 on unknown commands and options, and on missing arguments', async () => {
    const lines = await Promise.all(
      [['deploy'], ['rules'], ['rules', 'validate'], ['rules', 'validate', '--strict', 'x.yaml'], ['rules', 'schema', 'extra'], ['lanes', 'orders']].map(
        async (argv) => {
          const result = await graylane(argv);
          return [result.code, result.stdout, result.stderr.split('\n')[0]];
        },
      ),
    );
    expect(lines).toEqual([
      [2, '', 'graylane: usage: unknown command "deploy"'],
      [2, '', 'graylane: usage: "rules" needs a subcommand'],
      [2, '', 'graylane: usage: name at least one rule file'],
      [2, '', expect.stringMatching(/^graylane: usage: Unknown option '--strict'/)],
      [2, '', 'graylane: usage: takes no arguments'],
      [2, '', 'graylane: usage: unexpected argument "orders"; name services with --service'],
    ]);
  });
});
