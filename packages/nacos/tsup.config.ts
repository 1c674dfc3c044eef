import { library } from '../../tsup.library';

export default library({
  // src/proto.ts finds ../proto/*.proto through import.meta.url, which the CommonJS build needs shimmed.
  shims: true,
});
