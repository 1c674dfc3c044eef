// Every wire name lives in WireNames (@graylane/core). @graylane/conformance depends on nothing, so
// it keeps its own copy of the trail header's name; this keeps the copy honest.
import { WireNames } from '@graylane/core';
import { TRAIL_HEADER as CONFORMANCE_TRAIL_HEADER } from '@graylane/conformance';
import { LANE_TOKEN_HEADER, MSE_BAGGAGE_KEY, OPENSERGO_TRAFFIC_HEADER, TRAIL_HEADER } from '@graylane/context';

test('the names other packages export are the ones in WireNames', () => {
  expect(CONFORMANCE_TRAIL_HEADER).toBe(WireNames.TRAIL_HEADER);
  expect({ TRAIL_HEADER, LANE_TOKEN_HEADER, MSE_BAGGAGE_KEY, OPENSERGO_TRAFFIC_HEADER }).toEqual({
    TRAIL_HEADER: WireNames.TRAIL_HEADER,
    LANE_TOKEN_HEADER: WireNames.LANE_TOKEN_HEADER,
    MSE_BAGGAGE_KEY: WireNames.MSE_BAGGAGE_KEY,
    OPENSERGO_TRAFFIC_HEADER: WireNames.OPENSERGO_TRAFFIC_HEADER,
  });
});
