const { rmSync } = require('node:fs');

module.exports = async function globalTeardown() {
  const work = process.env.GRAYLANE_CONSUMER_WORK;
  if (work && !process.env.GRAYLANE_CONSUMER_KEEP) rmSync(work, { recursive: true, force: true });
};
