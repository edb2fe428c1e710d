import { describe, expect, it } from 'vitest';
import { bearerCheck } from '../../scripts/serve/auth.js';

describe('bearerCheck', () => {
  const check = bearerCheck('0123456789abcdef-token');
  it('accepts exactly "Bearer <token>" (scheme in any case, spaces around)', () => {
    expect(check('Bearer 0123456789abcdef-token')).toBe(true);
    expect(check('bearer   0123456789abcdef-token ')).toBe(true);
  });
  it('refuses a missing header, another scheme, a prefix, a longer token and a token with a changed character', () => {
    for (const h of [undefined, '', 'Basic 0123456789abcdef-token', '0123456789abcdef-token', 'Bearer 0123456789abcdef-toke', 'Bearer 0123456789abcdef-tokenX', 'Bearer 1123456789abcdef-token', 'Bearer', 'Bearer a b']) {
      expect(check(h), String(h)).toBe(false);
    }
  });
});
