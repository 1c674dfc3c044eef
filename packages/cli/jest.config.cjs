// The suites run the built command as child processes: allow for process start-up on a busy machine.
module.exports = require('../../jest.preset.cjs')(__dirname, { testTimeout: 30_000 });
