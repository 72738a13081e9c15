import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LIBRARY, flatProperties } from './events.js';

describe('events', () => {
  it("names the library by the package's own name and version", () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    expect(LIBRARY).toEqual({ name: pkg.name, version: pkg.version });
  });

  it('flattens properties to the scalars the contract stores', () => {
    expect(flatProperties({ s: 's', n: 1.5, b: false, z: null, o: { a: [1] }, a: [1, 'x'], d: new Date(0), bad: new Date(NaN), u: undefined, nan: NaN })).toEqual({
      s: 's',
      n: 1.5,
      b: false,
      z: null,
      o: '{"a":[1]}',
      a: '[1,"x"]',
      d: '1970-01-01T00:00:00.000Z',
      bad: null,
      nan: null,
    });
    expect(flatProperties(undefined)).toEqual({});
  });
});
