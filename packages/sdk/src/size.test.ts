import { expect, it } from 'vitest';
import { BUDGET_GZIP_BYTES, measure } from '../scripts/size.js';

it('keeps the browser bundle within its budget of 6 KB gzipped', async () => {
  const { gzipped } = await measure();
  expect(gzipped).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
});
