/**
 * `src/drf/python.ts` against Python 3's own answers for `int(s)` and `s.strip()`
 * (each expectation below is what CPython 3.12 prints).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePythonInt, pythonStrip } from '../../src/drf/python.js';

describe('parsePythonInt (Python int(str))', () => {
  it('parses plain, signed and zero-padded decimal integers', () => {
    const cases: [string, bigint][] = [
      ['0', 0n],
      ['7', 7n],
      ['+7', 7n],
      ['-7', -7n],
      ['007', 7n],
      ['-0', 0n],
      ['2147483647', 2147483647n],
    ];
    for (const [text, value] of cases) assert.equal(parsePythonInt(text), value, text);
  });

  it('ignores surrounding Python whitespace, including U+001C–U+001F, U+0085 and U+3000', () => {
    const cases: [string, bigint][] = [
      [' 7 ', 7n],
      ['\t\n7\r\n', 7n],
      ['\x0b\x0c7', 7n],
      ['\x1c7\x1f', 7n],
      ['\x857', 7n],
      ['\u30007\u3000', 7n],
      ['\u00a0 -3\u2028', -3n],
    ];
    for (const [text, value] of cases) assert.equal(parsePythonInt(text), value, JSON.stringify(text));
  });

  it('does not count U+FEFF or U+200B as whitespace (Python does not)', () => {
    assert.equal(parsePythonInt('\ufeff7'), undefined);
    assert.equal(parsePythonInt('7\u200b'), undefined);
  });

  it('accepts single underscores between digits only', () => {
    assert.equal(parsePythonInt('1_000'), 1000n);
    assert.equal(parsePythonInt('1_0_0'), 100n);
    for (const text of ['_1', '1_', '1__0', '_', '+_1', '1 _0']) assert.equal(parsePythonInt(text), undefined, text);
  });

  it('reads any Unicode decimal digit by its value: full-width, Arabic-Indic, Devanagari, Mathematical', () => {
    const cases: [string, bigint][] = [
      ['１２３', 123n],
      ['٤٢', 42n],
      ['७', 7n],
      ['𝟗𝟗', 99n],
      ['1٠', 10n],
      ['０', 0n],
    ];
    for (const [text, value] of cases) assert.equal(parsePythonInt(text), value, text);
  });

  it('refuses what int() refuses: empty, blanks, floats, exponents, hex, signs alone, inner spaces, non-Nd numerics', () => {
    for (const text of [
      '',
      '   ',
      '1.5',
      '1.0',
      '1e2',
      '0x10',
      '0b1',
      '+',
      '-',
      '+-1',
      '--1',
      '1 2',
      'abc',
      '½',
      '²',
      'Ⅻ',
      'NaN',
      'Infinity',
    ]) {
      assert.equal(parsePythonInt(text), undefined, JSON.stringify(text));
    }
  });

  it('keeps every digit of numbers beyond 2^53 (BigInt, no rounding)', () => {
    assert.equal(parsePythonInt('9007199254740993'), 9007199254740993n);
    assert.equal(parsePythonInt('-99999999999999999999999'), -99999999999999999999999n);
  });
});

describe('pythonStrip (Python str.strip())', () => {
  it('strips Python whitespace from both ends and nothing inside', () => {
    assert.equal(pythonStrip('  a b  '), 'a b');
    assert.equal(pythonStrip('\u3000\u00a0\x1c\x85Apple\t\n\r\u2029'), 'Apple');
    assert.equal(pythonStrip(' \t '), '');
    assert.equal(pythonStrip(''), '');
  });

  it('takes time linear in the input: inner whitespace is not searched again from every position', () => {
    // 200,000 inner spaces: a few milliseconds when linear; a quadratic scan took 20 s here.
    const padded = `a${' '.repeat(200_000)}b`;
    const started = performance.now();
    assert.equal(pythonStrip(` ${padded}\t`), padded);
    assert.ok(performance.now() - started < 2000, `${Math.round(performance.now() - started)} ms`);
  });

  it('keeps U+FEFF and U+200B, which Python does not strip', () => {
    assert.equal(pythonStrip('\ufeffA\u200b'), '\ufeffA\u200b');
  });
});
