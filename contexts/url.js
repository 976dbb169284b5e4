// URL and URLSearchParams, the WHATWG URL Standard's, written from its
// algorithms: the basic URL parser (a state machine over code points, with
// the state override that the setters use), host parsing (IPv4, IPv6,
// opaque hosts, domains to ASCII), serialization, and the
// application/x-www-form-urlencoded parser and serializer. This file is the
// body of `(function (binding) { ... })`; bootstrap.js runs it the first time
// URL or URLSearchParams is read. Conformance: docs/globals.md.
'use strict';

function isSpecialScheme(scheme) {
  switch (scheme) {
    case 'http': case 'https': case 'ws': case 'wss': case 'ftp': case 'file': return true;
    default: return false;
  }
}
function defaultPort(scheme) {
  switch (scheme) {
    case 'http': case 'ws': return 80;
    case 'https': case 'wss': return 443;
    case 'ftp': return 21;
    default: return null;
  }
}

// ---- code point classes ----

const isAsciiAlpha = (c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isAsciiDigit = (c) => c >= 0x30 && c <= 0x39;
const isAsciiHex = (c) => isAsciiDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
const isAsciiAlnum = (c) => isAsciiAlpha(c) || isAsciiDigit(c);

// Percent-encode sets, as predicates over a code point.
const c0Control = (c) => c < 0x20 || c > 0x7e;
const fragmentSet = (c) => c0Control(c) || c === 0x20 || c === 0x22 || c === 0x3c || c === 0x3e || c === 0x60;
const querySet = (c) => c0Control(c) || c === 0x20 || c === 0x22 || c === 0x23 || c === 0x3c || c === 0x3e;
const specialQuerySet = (c) => querySet(c) || c === 0x27;
const pathSet = (c) => querySet(c) || c === 0x3f || c === 0x60 || c === 0x7b || c === 0x7d;
const userinfoSet = (c) => pathSet(c) || c === 0x2f || c === 0x3a || c === 0x3b || c === 0x3d ||
  c === 0x40 || (c >= 0x5b && c <= 0x5e) || c === 0x7c;
const componentSet = (c) => userinfoSet(c) || (c >= 0x24 && c <= 0x26) || c === 0x2b || c === 0x2c;
const formSet = (c) => componentSet(c) || c === 0x21 || (c >= 0x27 && c <= 0x29) || c === 0x7e;

const hexByte = [];
for (let i = 0; i < 256; i++) hexByte.push('%' + i.toString(16).toUpperCase().padStart(2, '0'));

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// One code point (a string of one or two units), percent-encoded if in set.
function encodeCodePoint(ch, set) {
  const c = ch.length === 1 ? ch.charCodeAt(0) : ch.codePointAt(0);
  if (!set(c)) return ch;
  if (c < 0x80) return hexByte[c];
  let out = '';
  for (const b of encoder.encode(ch)) out += hexByte[b];
  return out;
}

function percentEncodeString(s, set, spaceAsPlus = false) {
  let out = '';
  for (const ch of s) {
    if (spaceAsPlus && ch === ' ') out += '+';
    else out += encodeCodePoint(ch, set);
  }
  return out;
}

// Percent-decoding of a string's UTF-8 bytes, back to bytes.
function percentDecode(s) {
  const bytes = encoder.encode(s);
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x25 && i + 2 < bytes.length && isAsciiHex(bytes[i + 1]) && isAsciiHex(bytes[i + 2])) {
      out[n++] = parseInt(String.fromCharCode(bytes[i + 1], bytes[i + 2]), 16);
      i += 2;
    } else {
      out[n++] = b;
    }
  }
  return out.subarray(0, n);
}

// ---- hosts ----

const forbiddenHost = (c) => c === 0 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x20 ||
  c === 0x23 || c === 0x2f || c === 0x3a || c === 0x3c || c === 0x3e || c === 0x3f || c === 0x40 ||
  c === 0x5b || c === 0x5c || c === 0x5d || c === 0x5e || c === 0x7c;
const forbiddenDomain = (c) => forbiddenHost(c) || (c >= 0 && c <= 0x1f) || c === 0x25 || c === 0x7f;

const FAILURE = Symbol('failure');

function parseIPv6(input) {
  const address = [0, 0, 0, 0, 0, 0, 0, 0];
  let pieceIndex = 0;
  let compress = null;
  let p = 0;
  const cps = Array.from(input, (ch) => ch.codePointAt(0));
  const c = (i = p) => cps[i];
  if (c() === 0x3a) {
    if (c(p + 1) !== 0x3a) return FAILURE;
    p += 2;
    pieceIndex++;
    compress = pieceIndex;
  }
  while (c() !== undefined) {
    if (pieceIndex === 8) return FAILURE;
    if (c() === 0x3a) {
      if (compress !== null) return FAILURE;
      p++;
      pieceIndex++;
      compress = pieceIndex;
      continue;
    }
    let value = 0, length = 0;
    while (length < 4 && c() !== undefined && isAsciiHex(c())) {
      value = value * 0x10 + parseInt(String.fromCharCode(c()), 16);
      p++;
      length++;
    }
    if (c() === 0x2e) {
      if (length === 0) return FAILURE;
      p -= length;
      if (pieceIndex > 6) return FAILURE;
      let numbersSeen = 0;
      while (c() !== undefined) {
        let ipv4Piece = null;
        if (numbersSeen > 0) {
          if (c() === 0x2e && numbersSeen < 4) p++;
          else return FAILURE;
        }
        if (c() === undefined || !isAsciiDigit(c())) return FAILURE;
        while (c() !== undefined && isAsciiDigit(c())) {
          const number = c() - 0x30;
          if (ipv4Piece === null) ipv4Piece = number;
          else if (ipv4Piece === 0) return FAILURE;
          else ipv4Piece = ipv4Piece * 10 + number;
          if (ipv4Piece > 255) return FAILURE;
          p++;
        }
        address[pieceIndex] = address[pieceIndex] * 0x100 + ipv4Piece;
        numbersSeen++;
        if (numbersSeen === 2 || numbersSeen === 4) pieceIndex++;
      }
      if (numbersSeen !== 4) return FAILURE;
      break;
    } else if (c() === 0x3a) {
      p++;
      if (c() === undefined) return FAILURE;
    } else if (c() !== undefined) {
      return FAILURE;
    }
    address[pieceIndex] = value;
    pieceIndex++;
  }
  if (compress !== null) {
    let swaps = pieceIndex - compress;
    pieceIndex = 7;
    while (pieceIndex !== 0 && swaps > 0) {
      const t = address[pieceIndex];
      address[pieceIndex] = address[compress + swaps - 1];
      address[compress + swaps - 1] = t;
      pieceIndex--;
      swaps--;
    }
  } else if (pieceIndex !== 8) {
    return FAILURE;
  }
  return address;
}

function serializeIPv6(address) {
  // The first longest run of two or more zero pieces is compressed.
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (address[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && address[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  let out = '';
  let ignore0 = false;
  for (let i = 0; i < 8; i++) {
    if (ignore0 && address[i] === 0) continue;
    ignore0 = false;
    if (best === i) {
      out += i === 0 ? '::' : ':';
      ignore0 = true;
      continue;
    }
    out += address[i].toString(16);
    if (i !== 7) out += ':';
  }
  return '[' + out + ']';
}

// An IPv4 number: [value, validationError] or FAILURE.
function parseIPv4Number(s) {
  if (s === '') return FAILURE;
  let radix = 10;
  if (s.length >= 2 && (s.startsWith('0x') || s.startsWith('0X'))) {
    s = s.slice(2);
    radix = 16;
  } else if (s.length >= 2 && s[0] === '0') {
    s = s.slice(1);
    radix = 8;
  }
  if (s === '') return 0;
  const valid = radix === 16 ? /^[0-9a-fA-F]+$/ : radix === 10 ? /^[0-9]+$/ : /^[0-7]+$/;
  if (!valid.test(s)) return FAILURE;
  // Exact for any length: BigInt, then compared.
  const big = BigInt(radix === 16 ? '0x' + s : radix === 8 ? '0o' + s : s);
  return big > 0xffffffffffn ? Infinity : Number(big);
}

function endsInANumber(input) {
  const parts = input.split('.');
  if (parts[parts.length - 1] === '') {
    if (parts.length === 1) return false;
    parts.pop();
  }
  const last = parts[parts.length - 1];
  if (last !== '' && /^[0-9]+$/.test(last)) return true;
  return parseIPv4Number(last) !== FAILURE;
}

function parseIPv4(input) {
  const parts = input.split('.');
  if (parts[parts.length - 1] === '' && parts.length > 1) parts.pop();
  if (parts.length > 4) return FAILURE;
  const numbers = [];
  for (const part of parts) {
    const n = parseIPv4Number(part);
    if (n === FAILURE) return FAILURE;
    numbers.push(n);
  }
  for (let i = 0; i < numbers.length - 1; i++) if (numbers[i] > 255) return FAILURE;
  if (numbers[numbers.length - 1] >= 256 ** (5 - numbers.length)) return FAILURE;
  let ipv4 = numbers[numbers.length - 1];
  for (let i = 0; i < numbers.length - 1; i++) ipv4 += numbers[i] * 256 ** (3 - i);
  return ipv4;
}

function serializeIPv4(n) {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

// ---- domain to ASCII (UTS #46, as far as JS's own Unicode data goes:
// case folding and NFKC normalization, ignored code points dropped, label
// separators, Punycode; see docs/globals.md for what it does not do) ----

const ignored = /[\u00ad\u034f\u180b-\u180d\u200b\u2060\ufe00-\ufe0f\ufeff]/g;
const dots = /[\u3002\uff0e\uff61]/g;
// What UTS #46 disallows of what JS's Unicode data can name: unassigned
// code points and noncharacters (U+FDD0, U+FFFF...), private use, lone
// surrogates, controls, and U+FFFD (what a percent-encoded byte that is not
// UTF-8, such as %80, decodes to).
const disallowed = /[\p{Cn}\p{Co}\p{Cs}\p{Cc}\ufffd]/u;

function punycodeEncode(label) {
  const base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700;
  const cps = Array.from(label, (ch) => ch.codePointAt(0));
  let out = cps.filter((c) => c < 0x80).map((c) => String.fromCharCode(c)).join('');
  const b = out.length;
  let h = b;
  if (b > 0) out += '-';
  let n = 128, delta = 0, bias = 72;
  const adapt = (d, numPoints, first) => {
    d = first ? Math.floor(d / damp) : d >> 1;
    d += Math.floor(d / numPoints);
    let k = 0;
    while (d > ((base - tMin) * tMax) >> 1) { d = Math.floor(d / (base - tMin)); k += base; }
    return k + Math.floor(((base - tMin + 1) * d) / (d + skew));
  };
  const digit = (d) => String.fromCharCode(d < 26 ? d + 97 : d + 22);
  while (h < cps.length) {
    let m = Infinity;
    for (const c of cps) if (c >= n && c < m) m = c;
    delta += (m - n) * (h + 1);
    n = m;
    for (const c of cps) {
      if (c < n) delta++;
      if (c === n) {
        let q = delta;
        for (let k = base; ; k += base) {
          const t = k <= bias ? tMin : k >= bias + tMax ? tMax : k - bias;
          if (q < t) break;
          out += digit(t + ((q - t) % (base - t)));
          q = Math.floor((q - t) / (base - t));
        }
        out += digit(q);
        bias = adapt(delta, h + 1, h === b);
        delta = 0;
        h++;
      }
    }
    delta++;
    n++;
  }
  return out;
}

// Punycode to code points, or FAILURE (RFC 3492's decoder).
function punycodeDecode(input) {
  const base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700;
  const out = [];
  const dash = input.lastIndexOf('-');
  for (let j = 0; j < Math.max(dash, 0); j++) {
    const c = input.charCodeAt(j);
    if (c >= 0x80) return FAILURE;
    out.push(c);
  }
  let n = 128, i = 0, bias = 72;
  for (let at = dash > 0 ? dash + 1 : 0; at < input.length;) {
    const oldi = i;
    for (let w = 1, k = base; ; k += base) {
      if (at >= input.length) return FAILURE;
      const c = input.charCodeAt(at++);
      const digit = c >= 0x30 && c <= 0x39 ? c - 22 : c >= 0x61 && c <= 0x7a ? c - 0x61
        : c >= 0x41 && c <= 0x5a ? c - 0x41 : base;
      if (digit >= base) return FAILURE;
      i += digit * w;
      if (i > 0x10ffff * (out.length + 1) * 4) return FAILURE;
      const t = k <= bias ? tMin : k >= bias + tMax ? tMax : k - bias;
      if (digit < t) break;
      w *= base - t;
    }
    const numPoints = out.length + 1;
    let d = oldi === 0 ? Math.floor((i - oldi) / damp) : (i - oldi) >> 1;
    d += Math.floor(d / numPoints);
    let k = 0;
    while (d > ((base - tMin) * tMax) >> 1) { d = Math.floor(d / (base - tMin)); k += base; }
    bias = k + Math.floor(((base - tMin + 1) * d) / (d + skew));
    n += Math.floor(i / numPoints);
    i %= numPoints;
    if (n > 0x10ffff) return FAILURE;
    out.splice(i, 0, n);
    i++;
  }
  return out;
}

// Whether an xn-- label decodes to a label that mapping leaves as it is and
// that needed Punycode at all.
function validPunycodeLabel(label) {
  const cps = punycodeDecode(label.slice(4));
  if (cps === FAILURE || cps.length === 0 || cps.every((c) => c < 0x80)) return false;
  if (cps.some((c) => c < 0xa0 || (c >= 0xd800 && c <= 0xdfff))) return cps.some((c) => c >= 0x80) && !cps.some((c) => c >= 0x7f && c < 0xa0) && cps.every((c) => c >= 0x20);
  const decoded = String.fromCodePoint(...cps);
  return mapDomain(decoded) === decoded;
}

function mapDomain(domain) {
  return domain.replace(ignored, '').replace(dots, '.').normalize('NFKC').toLowerCase().normalize('NFKC');
}

function domainToASCII(domain, beStrict = false) {
  // Fast path: ASCII without anything to map.
  let mapped;
  if (/^[\x00-\x7f]*$/.test(domain)) {
    mapped = domain.toLowerCase();
  } else {
    mapped = mapDomain(domain);
  }
  const labels = mapped.split('.');
  const out = [];
  for (const label of labels) {
    if (/^[\x00-\x7f]*$/.test(label)) {
      if (label.startsWith('xn--') && !validPunycodeLabel(label)) return FAILURE;
      out.push(label);
    } else {
      if (disallowed.test(label)) return FAILURE;
      out.push('xn--' + punycodeEncode(label));
    }
  }
  const result = out.join('.');
  if (result === '') return FAILURE;
  if (beStrict && result.length > 253) return FAILURE;
  return result;
}

// Returns the serialized host (a string) or FAILURE.
function parseHost(input, isOpaque) {
  if (input.startsWith('[')) {
    if (!input.endsWith(']')) return FAILURE;
    const address = parseIPv6(input.slice(1, -1));
    return address === FAILURE ? FAILURE : serializeIPv6(address);
  }
  if (isOpaque) {
    for (const ch of input) if (ch !== '%' && forbiddenHost(ch.codePointAt(0))) return FAILURE;
    return percentEncodeString(input, c0Control);
  }
  const domain = input.includes('%') ? decoder.decode(percentDecode(input)) : input;
  const asciiDomain = domainToASCII(domain);
  if (asciiDomain === FAILURE) return FAILURE;
  for (let i = 0; i < asciiDomain.length; i++) {
    if (forbiddenDomain(asciiDomain.charCodeAt(i))) return FAILURE;
  }
  if (endsInANumber(asciiDomain)) {
    const ipv4 = parseIPv4(asciiDomain);
    return ipv4 === FAILURE ? FAILURE : serializeIPv4(ipv4);
  }
  return asciiDomain;
}

// ---- the URL record and the basic URL parser ----

function newRecord() {
  return {
    scheme: '', username: '', password: '', host: null, port: null,
    path: [], opaque: false, query: null, fragment: null,
  };
}

const isWindowsDriveLetter = (s, normalizedOnly = false) => s.length === 2 && isAsciiAlpha(s.charCodeAt(0)) &&
  (s[1] === ':' || (!normalizedOnly && s[1] === '|'));
const startsWithWindowsDriveLetter = (cps, p) => cps.length - p >= 2 && isAsciiAlpha(cps[p]) &&
  (cps[p + 1] === 0x3a || cps[p + 1] === 0x7c) &&
  (cps.length - p === 2 || [0x2f, 0x5c, 0x3f, 0x23].includes(cps[p + 2]));

function shortenPath(url) {
  const path = url.path;
  if (url.scheme === 'file' && path.length === 1 && isWindowsDriveLetter(path[0], true)) return;
  path.pop();
}

const isSingleDot = (s) => s === '.' || s.toLowerCase() === '%2e';
const isDoubleDot = (s) => {
  const l = s.toLowerCase();
  return l === '..' || l === '.%2e' || l === '%2e.' || l === '%2e%2e';
};

const asciiChars = [];
for (let i = 0; i < 128; i++) asciiChars.push(String.fromCharCode(i));

// The code points of s (lone surrogates as they are).
function codePoints(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out.push(0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00));
        i++;
        continue;
      }
    }
    out.push(c);
  }
  return out;
}

const S = {
  SCHEME_START: 1, SCHEME: 2, NO_SCHEME: 3, SPECIAL_RELATIVE_OR_AUTHORITY: 4, PATH_OR_AUTHORITY: 5,
  RELATIVE: 6, RELATIVE_SLASH: 7, SPECIAL_AUTHORITY_SLASHES: 8, SPECIAL_AUTHORITY_IGNORE_SLASHES: 9,
  AUTHORITY: 10, HOST: 11, HOSTNAME: 12, PORT: 13, FILE: 14, FILE_SLASH: 15, FILE_HOST: 16,
  PATH_START: 17, PATH: 18, OPAQUE_PATH: 19, QUERY: 20, FRAGMENT: 21,
};

// The basic URL parser. Returns the record, or FAILURE; with stateOverride
// it changes url in place and returns undefined, FAILURE, or 'return' when
// a setter must stop without error.
function basicParse(input, base, url, stateOverride) {
  if (url === undefined) {
    url = newRecord();
    let start = 0, end = input.length;
    while (start < end && input.charCodeAt(start) <= 0x20) start++;
    while (end > start && input.charCodeAt(end - 1) <= 0x20) end--;
    if (start > 0 || end < input.length) input = input.slice(start, end);
  }
  if (/[\t\n\r]/.test(input)) input = input.replace(/[\t\n\r]/g, '');
  let state = stateOverride || S.SCHEME_START;
  let buffer = '';
  let atSignSeen = false, insideBrackets = false, passwordTokenSeen = false;
  const cps = codePoints(input);
  const EOF = undefined;
  for (let p = 0; p <= cps.length; p++) {
    const c = cps[p];
    const ch = c === EOF ? '' : c < 128 ? asciiChars[c] : String.fromCodePoint(c);
    switch (state) {
      case S.SCHEME_START:
        if (c !== EOF && isAsciiAlpha(c)) {
          buffer += ch.toLowerCase();
          state = S.SCHEME;
        } else if (!stateOverride) {
          state = S.NO_SCHEME;
          p--;
        } else {
          return FAILURE;
        }
        break;
      case S.SCHEME:
        if (c !== EOF && (isAsciiAlnum(c) || c === 0x2b || c === 0x2d || c === 0x2e)) {
          buffer += ch.toLowerCase();
        } else if (c === 0x3a) {
          if (stateOverride) {
            if (isSpecialScheme(url.scheme) !== isSpecialScheme(buffer)) return 'return';
            if ((url.username !== '' || url.password !== '' || url.port !== null) && buffer === 'file') return 'return';
            if (url.scheme === 'file' && url.host === '') return 'return';
          }
          url.scheme = buffer;
          if (stateOverride) {
            if (url.port === defaultPort(url.scheme)) url.port = null;
            return 'return';
          }
          buffer = '';
          if (url.scheme === 'file') {
            state = S.FILE;
          } else if (isSpecialScheme(url.scheme) && base !== null && base.scheme === url.scheme) {
            state = S.SPECIAL_RELATIVE_OR_AUTHORITY;
          } else if (isSpecialScheme(url.scheme)) {
            state = S.SPECIAL_AUTHORITY_SLASHES;
          } else if (cps[p + 1] === 0x2f) {
            state = S.PATH_OR_AUTHORITY;
            p++;
          } else {
            url.opaque = true;
            url.path = '';
            state = S.OPAQUE_PATH;
          }
        } else if (!stateOverride) {
          buffer = '';
          state = S.NO_SCHEME;
          p = -1;
        } else {
          return FAILURE;
        }
        break;
      case S.NO_SCHEME:
        if (base === null || (base.opaque && c !== 0x23)) return FAILURE;
        if (base.opaque && c === 0x23) {
          url.scheme = base.scheme;
          url.path = base.path;
          url.opaque = true;
          url.query = base.query;
          url.fragment = '';
          state = S.FRAGMENT;
        } else if (base.scheme !== 'file') {
          state = S.RELATIVE;
          p--;
        } else {
          state = S.FILE;
          p--;
        }
        break;
      case S.SPECIAL_RELATIVE_OR_AUTHORITY:
        if (c === 0x2f && cps[p + 1] === 0x2f) {
          state = S.SPECIAL_AUTHORITY_IGNORE_SLASHES;
          p++;
        } else {
          state = S.RELATIVE;
          p--;
        }
        break;
      case S.PATH_OR_AUTHORITY:
        if (c === 0x2f) {
          state = S.AUTHORITY;
        } else {
          state = S.PATH;
          p--;
        }
        break;
      case S.RELATIVE:
        url.scheme = base.scheme;
        if (c === 0x2f) {
          state = S.RELATIVE_SLASH;
        } else if (isSpecialScheme(url.scheme) && c === 0x5c) {
          state = S.RELATIVE_SLASH;
        } else {
          url.username = base.username;
          url.password = base.password;
          url.host = base.host;
          url.port = base.port;
          url.path = base.path.slice();
          url.query = base.query;
          if (c === 0x3f) {
            url.query = '';
            state = S.QUERY;
          } else if (c === 0x23) {
            url.fragment = '';
            state = S.FRAGMENT;
          } else if (c !== EOF) {
            url.query = null;
            shortenPath(url);
            state = S.PATH;
            p--;
          }
        }
        break;
      case S.RELATIVE_SLASH:
        if (isSpecialScheme(url.scheme) && (c === 0x2f || c === 0x5c)) {
          state = S.SPECIAL_AUTHORITY_IGNORE_SLASHES;
        } else if (c === 0x2f) {
          state = S.AUTHORITY;
        } else {
          url.username = base.username;
          url.password = base.password;
          url.host = base.host;
          url.port = base.port;
          state = S.PATH;
          p--;
        }
        break;
      case S.SPECIAL_AUTHORITY_SLASHES:
        state = S.SPECIAL_AUTHORITY_IGNORE_SLASHES;
        if (c === 0x2f && cps[p + 1] === 0x2f) p++;
        else p--;
        break;
      case S.SPECIAL_AUTHORITY_IGNORE_SLASHES:
        if (c !== 0x2f && c !== 0x5c) {
          state = S.AUTHORITY;
          p--;
        }
        break;
      case S.AUTHORITY:
        if (c === 0x40) {
          if (atSignSeen) buffer = '%40' + buffer;
          atSignSeen = true;
          for (const bc of buffer) {
            if (bc === ':' && !passwordTokenSeen) {
              passwordTokenSeen = true;
              continue;
            }
            const enc = encodeCodePoint(bc, userinfoSet);
            if (passwordTokenSeen) url.password += enc;
            else url.username += enc;
          }
          buffer = '';
        } else if (c === EOF || c === 0x2f || c === 0x3f || c === 0x23 ||
                   (isSpecialScheme(url.scheme) && c === 0x5c)) {
          if (atSignSeen && buffer === '') return FAILURE;
          p -= Array.from(buffer).length + 1;
          buffer = '';
          state = S.HOST;
        } else {
          buffer += ch;
        }
        break;
      case S.HOST:
      case S.HOSTNAME:
        if (stateOverride && url.scheme === 'file') {
          p--;
          state = S.FILE_HOST;
        } else if (c === 0x3a && !insideBrackets) {
          if (buffer === '') return FAILURE;
          if (stateOverride === S.HOSTNAME) return 'return';
          const host = parseHost(buffer, !isSpecialScheme(url.scheme));
          if (host === FAILURE) return FAILURE;
          url.host = host;
          buffer = '';
          state = S.PORT;
        } else if (c === EOF || c === 0x2f || c === 0x3f || c === 0x23 ||
                   (isSpecialScheme(url.scheme) && c === 0x5c)) {
          p--;
          if (isSpecialScheme(url.scheme) && buffer === '') return FAILURE;
          if (stateOverride && buffer === '' && (url.username !== '' || url.password !== '' || url.port !== null)) {
            return 'return';
          }
          const host = parseHost(buffer, !isSpecialScheme(url.scheme));
          if (host === FAILURE) return FAILURE;
          url.host = host;
          buffer = '';
          state = S.PATH_START;
          if (stateOverride) return 'return';
        } else {
          if (c === 0x5b) insideBrackets = true;
          if (c === 0x5d) insideBrackets = false;
          buffer += ch;
        }
        break;
      case S.PORT:
        if (c !== EOF && isAsciiDigit(c)) {
          buffer += ch;
        } else if (c === EOF || c === 0x2f || c === 0x3f || c === 0x23 ||
                   (isSpecialScheme(url.scheme) && c === 0x5c) || stateOverride) {
          if (buffer !== '') {
            const port = parseInt(buffer, 10);
            if (port > 65535) return FAILURE;
            url.port = port === defaultPort(url.scheme) ? null : port;
            buffer = '';
            if (stateOverride) return 'return';
          }
          if (stateOverride) return FAILURE;
          state = S.PATH_START;
          p--;
        } else {
          return FAILURE;
        }
        break;
      case S.FILE:
        url.scheme = 'file';
        url.host = '';
        if (c === 0x2f || c === 0x5c) {
          state = S.FILE_SLASH;
        } else if (base !== null && base.scheme === 'file') {
          url.host = base.host;
          url.path = base.path.slice();
          url.query = base.query;
          if (c === 0x3f) {
            url.query = '';
            state = S.QUERY;
          } else if (c === 0x23) {
            url.fragment = '';
            state = S.FRAGMENT;
          } else if (c !== EOF) {
            url.query = null;
            if (!startsWithWindowsDriveLetter(cps, p)) shortenPath(url);
            else url.path = [];
            state = S.PATH;
            p--;
          }
        } else {
          state = S.PATH;
          p--;
        }
        break;
      case S.FILE_SLASH:
        if (c === 0x2f || c === 0x5c) {
          state = S.FILE_HOST;
        } else {
          if (base !== null && base.scheme === 'file') {
            url.host = base.host;
            if (!startsWithWindowsDriveLetter(cps, p) && base.path.length > 0 &&
                isWindowsDriveLetter(base.path[0], true)) {
              url.path.push(base.path[0]);
            }
          }
          state = S.PATH;
          p--;
        }
        break;
      case S.FILE_HOST:
        if (c === EOF || c === 0x2f || c === 0x5c || c === 0x3f || c === 0x23) {
          p--;
          if (!stateOverride && isWindowsDriveLetter(buffer)) {
            state = S.PATH;
          } else if (buffer === '') {
            url.host = '';
            if (stateOverride) return 'return';
            state = S.PATH_START;
          } else {
            let host = parseHost(buffer, false);
            if (host === FAILURE) return FAILURE;
            if (host === 'localhost') host = '';
            url.host = host;
            if (stateOverride) return 'return';
            buffer = '';
            state = S.PATH_START;
          }
        } else {
          buffer += ch;
        }
        break;
      case S.PATH_START:
        if (isSpecialScheme(url.scheme)) {
          state = S.PATH;
          if (c !== 0x2f && c !== 0x5c) p--;
        } else if (!stateOverride && c === 0x3f) {
          url.query = '';
          state = S.QUERY;
        } else if (!stateOverride && c === 0x23) {
          url.fragment = '';
          state = S.FRAGMENT;
        } else if (c !== EOF) {
          state = S.PATH;
          if (c !== 0x2f) p--;
        } else if (stateOverride && url.host === null) {
          url.path.push('');
        }
        break;
      case S.PATH:
        if (c === EOF || c === 0x2f || (isSpecialScheme(url.scheme) && c === 0x5c) ||
            (!stateOverride && (c === 0x3f || c === 0x23))) {
          const slash = c === 0x2f || (isSpecialScheme(url.scheme) && c === 0x5c);
          if (isDoubleDot(buffer)) {
            shortenPath(url);
            if (!slash) url.path.push('');
          } else if (isSingleDot(buffer) && !slash) {
            url.path.push('');
          } else if (!isSingleDot(buffer)) {
            if (url.scheme === 'file' && url.path.length === 0 && isWindowsDriveLetter(buffer)) {
              buffer = buffer[0] + ':';
            }
            url.path.push(buffer);
          }
          buffer = '';
          if (c === 0x3f) {
            url.query = '';
            state = S.QUERY;
          }
          if (c === 0x23) {
            url.fragment = '';
            state = S.FRAGMENT;
          }
        } else {
          buffer += encodeCodePoint(ch, pathSet);
        }
        break;
      case S.OPAQUE_PATH:
        if (c === 0x3f) {
          url.query = '';
          state = S.QUERY;
        } else if (c === 0x23) {
          url.fragment = '';
          state = S.FRAGMENT;
        } else if (c === 0x20) {
          // A space is kept as it is unless a query or fragment follows,
          // which the serializer then guards (trailing spaces: see below).
          url.path += ' ';
        } else if (c !== EOF) {
          url.path += encodeCodePoint(ch, c0Control);
        }
        break;
      case S.QUERY:
        if ((!stateOverride && c === 0x23) || c === EOF) {
          const set = isSpecialScheme(url.scheme) ? specialQuerySet : querySet;
          url.query += percentEncodeString(buffer, set);
          buffer = '';
          if (c === 0x23) {
            url.fragment = '';
            state = S.FRAGMENT;
          }
        } else if (c !== EOF) {
          buffer += ch;
        }
        break;
      case S.FRAGMENT:
        if (c !== EOF) url.fragment += encodeCodePoint(ch, fragmentSet);
        break;
    }
  }
  if (stateOverride) return undefined;
  return url;
}

// An opaque path's trailing spaces are dropped when neither a query nor a
// fragment follows them (what "strip trailing spaces from an opaque path"
// does after the setters clear one).
function stripTrailingSpaces(url) {
  if (!url.opaque || url.fragment !== null || url.query !== null) return;
  url.path = url.path.replace(/ +$/, '');
}

function serializePath(url) {
  if (url.opaque) return url.path;
  let out = '';
  for (const segment of url.path) out += '/' + segment;
  return out;
}

function serialize(url, excludeFragment = false) {
  let out = url.scheme + ':';
  if (url.host !== null) {
    out += '//';
    if (url.username !== '' || url.password !== '') {
      out += url.username;
      if (url.password !== '') out += ':' + url.password;
      out += '@';
    }
    out += url.host;
    if (url.port !== null) out += ':' + url.port;
  }
  if (url.host === null && !url.opaque && url.path.length > 1 && url.path[0] === '') out += '/.';
  out += serializePath(url);
  if (url.query !== null) out += '?' + url.query;
  if (!excludeFragment && url.fragment !== null) out += '#' + url.fragment;
  return out;
}

function serializeOrigin(url) {
  switch (url.scheme) {
    case 'blob': {
      if (url.opaque) {
        const inner = basicParse(url.path, null);
        if (inner !== FAILURE && (inner.scheme === 'http' || inner.scheme === 'https')) return serializeOrigin(inner);
      }
      return 'null';
    }
    case 'ftp': case 'http': case 'https': case 'ws': case 'wss':
      return url.scheme + '://' + url.host + (url.port !== null ? ':' + url.port : '');
    default:
      return 'null';
  }
}

const cannotHaveCredentialsOrPort = (url) => url.host === null || url.host === '' || url.scheme === 'file';

// ---- URLSearchParams ----

function formDecode(s) {
  if (s.includes('+')) s = s.replace(/\+/g, ' ');
  return s.includes('%') ? decoder.decode(percentDecode(s)) : s;
}

function formParse(input) {
  const out = [];
  for (const seq of input.split('&')) {
    if (seq === '') continue;
    const eq = seq.indexOf('=');
    const name = eq < 0 ? seq : seq.slice(0, eq);
    const value = eq < 0 ? '' : seq.slice(eq + 1);
    out.push([formDecode(name), formDecode(value)]);
  }
  return out;
}

function formSerialize(list) {
  return list.map(([n, v]) => percentEncodeString(n, formSet, true) + '=' + percentEncodeString(v, formSet, true)).join('&');
}

// A USVString: lone surrogates become U+FFFD.
const usv = (v) => {
  const s = String(v);
  return /[\ud800-\udfff]/.test(s) ? s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd') : s;
};

const internal = Symbol('URLSearchParams internal');

class URLSearchParams {
  #list = [];
  #url = null; // the URL whose query this is, if any
  constructor(init = '') {
    if (init === internal) return;
    if (init !== null && typeof init === 'object' || typeof init === 'function') {
      const iterator = init[Symbol.iterator];
      if (iterator !== undefined && iterator !== null) {
        if (typeof iterator !== 'function') throw new TypeError('URLSearchParams: the init object is not iterable');
        for (const pair of init) {
          if (pair === null || (typeof pair !== 'object' && typeof pair !== 'function') || typeof pair[Symbol.iterator] !== 'function') {
            throw new TypeError('URLSearchParams: each pair must be an iterable of a name and a value');
          }
          const items = [...pair];
          if (items.length !== 2) throw new TypeError('URLSearchParams: each pair must have exactly two items');
          this.#list.push([usv(items[0]), usv(items[1])]);
        }
      } else {
        for (const key of Reflect.ownKeys(init)) {
          const desc = Reflect.getOwnPropertyDescriptor(init, key);
          if (desc === undefined || !desc.enumerable || typeof key === 'symbol') continue;
          this.#list.push([usv(key), usv(init[key])]);
        }
      }
    } else {
      let s = usv(init);
      if (s.startsWith('?')) s = s.slice(1);
      this.#list = formParse(s);
    }
  }
  static attach(params, url, query) {
    params.#url = url;
    params.#list = query === null ? [] : formParse(query);
  }
  static reset(params, query) { params.#list = query === null ? [] : formParse(query); }
  #update() {
    if (this.#url === null) return;
    const record = recordOf(this.#url);
    const s = formSerialize(this.#list);
    record.query = s === '' ? null : s;
    if (s === '') stripTrailingSpaces(record);
  }
  get size() { return this.#list.length; }
  append(name, value) {
    if (arguments.length < 2) throw new TypeError('URLSearchParams.append: 2 arguments required');
    this.#list.push([usv(name), usv(value)]);
    this.#update();
  }
  delete(name, value) {
    if (arguments.length < 1) throw new TypeError('URLSearchParams.delete: 1 argument required');
    name = usv(name);
    if (value !== undefined) {
      value = usv(value);
      this.#list = this.#list.filter(([n, v]) => n !== name || v !== value);
    } else {
      this.#list = this.#list.filter(([n]) => n !== name);
    }
    this.#update();
  }
  get(name) {
    if (arguments.length < 1) throw new TypeError('URLSearchParams.get: 1 argument required');
    name = usv(name);
    const found = this.#list.find(([n]) => n === name);
    return found === undefined ? null : found[1];
  }
  getAll(name) {
    if (arguments.length < 1) throw new TypeError('URLSearchParams.getAll: 1 argument required');
    name = usv(name);
    return this.#list.filter(([n]) => n === name).map(([, v]) => v);
  }
  has(name, value) {
    if (arguments.length < 1) throw new TypeError('URLSearchParams.has: 1 argument required');
    name = usv(name);
    if (value !== undefined) {
      value = usv(value);
      return this.#list.some(([n, v]) => n === name && v === value);
    }
    return this.#list.some(([n]) => n === name);
  }
  set(name, value) {
    if (arguments.length < 2) throw new TypeError('URLSearchParams.set: 2 arguments required');
    name = usv(name);
    value = usv(value);
    const i = this.#list.findIndex(([n]) => n === name);
    if (i < 0) {
      this.#list.push([name, value]);
    } else {
      this.#list[i][1] = value;
      this.#list = this.#list.filter(([n], j) => j <= i || n !== name);
    }
    this.#update();
  }
  sort() {
    // Stable, by code units (Array.prototype.sort is stable).
    this.#list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.#update();
  }
  forEach(callback, thisArg) {
    if (typeof callback !== 'function') throw new TypeError('URLSearchParams.forEach: callback must be a function');
    for (let i = 0; i < this.#list.length; i++) {
      const [n, v] = this.#list[i];
      callback.call(thisArg, v, n, this);
    }
  }
  *entries() { for (let i = 0; i < this.#list.length; i++) yield [this.#list[i][0], this.#list[i][1]]; }
  *keys() { for (let i = 0; i < this.#list.length; i++) yield this.#list[i][0]; }
  *values() { for (let i = 0; i < this.#list.length; i++) yield this.#list[i][1]; }
  [Symbol.iterator]() { return this.entries(); }
  toString() { return formSerialize(this.#list); }
  get [Symbol.toStringTag]() { return 'URLSearchParams'; }
  // As node shows one: URLSearchParams { 'a' => '1' }.
  [Symbol.for('dv8.inspect.custom')](depth, options, inspect) {
    if (this.#list.length === 0) return 'URLSearchParams {}';
    return `URLSearchParams { ${this.#list.map(([n, v]) => `${inspect(n, options)} => ${inspect(v, options)}`).join(', ')} }`;
  }
}
const attachParams = URLSearchParams.attach;
const resetParams = URLSearchParams.reset;
delete URLSearchParams.attach;
delete URLSearchParams.reset;

// ---- URL ----

let recordOf;

class URL {
  #record;
  #params = null;
  constructor(url, base) {
    if (arguments.length === 0) throw new TypeError('URL: 1 argument required, but only 0 present');
    let baseRecord = null;
    if (base !== undefined) {
      baseRecord = basicParse(usv(base), null);
      if (baseRecord === FAILURE) throw invalid(base, 'base URL');
    }
    const record = basicParse(usv(url), baseRecord);
    if (record === FAILURE) throw invalid(url, 'URL', base);
    this.#record = record;
  }
  static canParse(url, base) {
    if (arguments.length === 0) throw new TypeError('URL.canParse: 1 argument required, but only 0 present');
    let baseRecord = null;
    if (base !== undefined) {
      baseRecord = basicParse(usv(base), null);
      if (baseRecord === FAILURE) return false;
    }
    return basicParse(usv(url), baseRecord) !== FAILURE;
  }
  static parse(url, base) {
    try { return new URL(url, base); } catch { return null; }
  }
  static #recordOf(u) { return u.#record; }
  static {
    recordOf = (u) => URL.#recordOf(u);
  }

  get href() { return serialize(this.#record); }
  set href(value) {
    const record = basicParse(usv(value), null);
    if (record === FAILURE) throw invalid(value, 'URL');
    this.#record = record;
    if (this.#params !== null) resetParams(this.#params, record.query);
  }
  get origin() { return serializeOrigin(this.#record); }
  get protocol() { return this.#record.scheme + ':'; }
  set protocol(value) { basicParse(usv(value) + ':', null, this.#record, S.SCHEME_START); }
  get username() { return this.#record.username; }
  set username(value) {
    if (cannotHaveCredentialsOrPort(this.#record)) return;
    this.#record.username = percentEncodeString(usv(value), userinfoSet);
  }
  get password() { return this.#record.password; }
  set password(value) {
    if (cannotHaveCredentialsOrPort(this.#record)) return;
    this.#record.password = percentEncodeString(usv(value), userinfoSet);
  }
  get host() {
    const r = this.#record;
    if (r.host === null) return '';
    return r.port === null ? r.host : r.host + ':' + r.port;
  }
  set host(value) {
    if (this.#record.opaque) return;
    this.#setWith(usv(value), S.HOST);
  }
  get hostname() { return this.#record.host ?? ''; }
  set hostname(value) {
    if (this.#record.opaque) return;
    this.#setWith(usv(value), S.HOSTNAME);
  }
  get port() { return this.#record.port === null ? '' : String(this.#record.port); }
  set port(value) {
    if (cannotHaveCredentialsOrPort(this.#record)) return;
    value = usv(value);
    if (value === '') this.#record.port = null;
    else this.#setWith(value, S.PORT);
  }
  get pathname() { return serializePath(this.#record); }
  set pathname(value) {
    const r = this.#record;
    if (r.opaque) return;
    const copy = { ...r, path: [] };
    if (basicParse(usv(value), null, copy, S.PATH_START) !== FAILURE) r.path = copy.path;
  }
  get search() {
    const q = this.#record.query;
    return q === null || q === '' ? '' : '?' + q;
  }
  set search(value) {
    const r = this.#record;
    value = usv(value);
    if (value === '') {
      r.query = null;
      if (this.#params !== null) resetParams(this.#params, null);
      stripTrailingSpaces(r);
      return;
    }
    const input = value[0] === '?' ? value.slice(1) : value;
    const copy = { ...r, query: '' };
    basicParse(input, null, copy, S.QUERY);
    r.query = copy.query;
    if (this.#params !== null) resetParams(this.#params, r.query);
  }
  get searchParams() {
    if (this.#params === null) {
      this.#params = new URLSearchParams(internal);
      attachParams(this.#params, this, this.#record.query);
    }
    return this.#params;
  }
  get hash() {
    const f = this.#record.fragment;
    return f === null || f === '' ? '' : '#' + f;
  }
  set hash(value) {
    const r = this.#record;
    value = usv(value);
    if (value === '') {
      r.fragment = null;
      stripTrailingSpaces(r);
      return;
    }
    const input = value[0] === '#' ? value.slice(1) : value;
    r.fragment = '';
    basicParse(input, null, r, S.FRAGMENT);
  }
  toString() { return serialize(this.#record); }
  toJSON() { return serialize(this.#record); }
  get [Symbol.toStringTag]() { return 'URL'; }
  [Symbol.for('dv8.inspect.custom')](depth, options, inspect) {
    const fields = {
      href: this.href, origin: this.origin, protocol: this.protocol, username: this.username,
      password: this.password, host: this.host, hostname: this.hostname, port: this.port,
      pathname: this.pathname, search: this.search, searchParams: this.searchParams, hash: this.hash,
    };
    return `URL ${inspect(fields, options)}`;
  }

  // As the standard's setters do, the parse changes the URL in place: what
  // it set before a failure stays (a host before a bad port).
  #setWith(value, state) {
    basicParse(value, null, this.#record, state);
  }
}

function invalid(input, what, base) {
  const err = new TypeError(`Invalid ${what}: ${String(input)}${base !== undefined ? ` (base ${String(base)})` : ''}`);
  err.code = 'ERR_INVALID_URL';
  err.input = String(input);
  if (base !== undefined) err.base = String(base);
  return err;
}

return { URL, URLSearchParams };
