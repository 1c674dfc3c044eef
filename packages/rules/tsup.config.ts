import { library } from '../../tsup.library';

export default library({
  // src/worker.ts resolves this package's CommonJS build through import.meta.url, which the CommonJS build needs shimmed.
  shims: true,
});
