import { Agent, fetch as undiciFetch, request } from 'undici';
import { describeTrailContract } from '@graylane/testing';
import { createLaneFetch, laneInterceptor } from '../src/index.js';

describeTrailContract('undici.request', (router) => {
  const dispatcher = new Agent().compose(laneInterceptor({ router }));
  return {
    async get(url) {
      const response = await request(url, { dispatcher });
      await response.body.text();
      return response.statusCode;
    },
    close: () => dispatcher.close(),
  };
});

describeTrailContract('fetch', (router) => {
  const dispatcher = new Agent();
  const laneFetch = createLaneFetch({ router, dispatcher, fetch: undiciFetch as unknown as typeof fetch });
  return {
    async get(url) {
      const response = await laneFetch(url);
      await response.text();
      return response.status;
    },
    close: () => dispatcher.close(),
  };
});
