/**
 * Allocation-free JSON validation (RFC 8259 grammar) for content attributes that claim to be JSON.
 * JSON.parse would build and discard a full object tree per span; this only scans the characters.
 */

let s = '';
let i = 0;
/** the last text checked has a number PostgreSQL's numeric cannot hold (see bigNumberSeen) */
let big = false;
const MAX_DEPTH = 512;

function ws(): void {
  let c = s.charCodeAt(i);
  while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++i);
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function str(): boolean {
  i++; // opening quote
  for (;;) {
    const c = s.charCodeAt(i++);
    if (c === 34) return true; // "
    if (c !== c || c < 32) return false; // NaN (end of input) or raw control character
    if (c === 92) { // backslash
      const e = s.charCodeAt(i++);
      if (e === 117) { // \uXXXX
        if (!(isHex(s.charCodeAt(i)) && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2)) && isHex(s.charCodeAt(i + 3)))) return false;
        i += 4;
      } else if (!(e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116)) {
        return false;
      }
    }
  }
}

function digits(): boolean {
  const start = i;
  let c = s.charCodeAt(i);
  while (c >= 48 && c <= 57) c = s.charCodeAt(++i);
  if (i - start >= 1000) big = true;
  return i > start;
}

function num(): boolean {
  if (s.charCodeAt(i) === 45) i++; // -
  if (s.charCodeAt(i) === 48) i++; // a leading 0 stands alone
  else if (!digits()) return false;
  if (s.charCodeAt(i) === 46) { // .
    i++;
    if (!digits()) return false;
  }
  const e = s.charCodeAt(i);
  if (e === 101 || e === 69) { // e E
    const sign = s.charCodeAt(++i);
    if (sign === 43 || sign === 45) i++;
    const from = i;
    if (!digits()) return false;
    if (i - from >= 4) big = true;
  }
  return true;
}

function literal(word: string): boolean {
  if (!s.startsWith(word, i)) return false;
  i += word.length;
  return true;
}

function value(depth: number): boolean {
  ws();
  const c = s.charCodeAt(i);
  if (c === 34) return str();
  if (c === 123 || c === 91) return container(c === 123, depth + 1);
  if (c === 116) return literal('true');
  if (c === 102) return literal('false');
  if (c === 110) return literal('null');
  return num();
}

function container(isObject: boolean, depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  const close = isObject ? 125 : 93;
  i++;
  ws();
  if (s.charCodeAt(i) === close) {
    i++;
    return true;
  }
  for (;;) {
    if (isObject) {
      ws();
      if (s.charCodeAt(i) !== 34 || !str()) return false;
      ws();
      if (s.charCodeAt(i++) !== 58) return false; // :
    }
    if (!value(depth)) return false;
    ws();
    const c = s.charCodeAt(i++);
    if (c === close) return true;
    if (c !== 44) return false; // ,
  }
}

/**
 * True when `text` is one complete JSON value (surrounding whitespace allowed); with `containersOnly`,
 * only an object or array qualifies.
 */
export function isJson(text: string, containersOnly = false): boolean {
  s = text;
  i = 0;
  big = false;
  if (containersOnly) {
    ws();
    const c = s.charCodeAt(i);
    if (c !== 123 && c !== 91) {
      s = '';
      return false;
    }
  }
  const ok = value(0);
  if (ok) ws();
  const done = ok && i === text.length;
  s = '';
  return done;
}

/**
 * Whether the text of the last isJson call had a number PostgreSQL's jsonb refuses ("value overflows numeric
 * format": an exponent of 4+ digits such as 1e100000, or a run of 1000+ digits; conservative). Such content
 * is stored, not referenced (content.ts): it fails at the write, where it failed before, not when read.
 */
export function bigNumberSeen(): boolean {
  return big;
}
