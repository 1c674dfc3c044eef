import axios from 'axios';
import { describeTrailContract } from '@graylane/testing';
import { attachLaneRouting } from '../src/index.js';

describeTrailContract('axios', (router) => {
  const client = axios.create({ validateStatus: () => true });
  const failing = axios.create();
  attachLaneRouting(client, { router });
  attachLaneRouting(failing, { router });
  return {
    // An error status takes axios's rejection path (the default `validateStatus`): its trail counts too.
    async get(url) {
      const { status } = url.startsWith('http://d/')
        ? await failing.get(url).catch((error: { response: { status: number } }) => error.response)
        : await client.get(url);
      return status;
    },
  };
});
