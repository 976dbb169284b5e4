/*
 * dv8 value inspector: turns any JavaScript value into readable text for
 * console.log and friends. The output is modelled on what Node.js's
 * util.inspect prints by default, but the code is written from scratch.
 *
 * This file is the BODY of a function, not a module. The runtime compiles it
 * with V8's CompileFunction and calls it once per context, so every context
 * gets its own copy bound to its own intrinsics (Map, Array.prototype, ...).
 * Only standard ECMAScript is available. The function returns
 * { inspect, formatArgs, formatTable }.
 */
'use strict';

const DEFAULT_DEPTH = 2;
const DEFAULT_BREAK_LENGTH = 80;
const DEFAULT_MAX_ITEMS = 100;
const DEFAULT_MAX_STRING = 10000;
// How many levels of nested objects may share one line (Node's "compact: 3").
const COMPACT_LEVELS = 3;
// Objects may define obj[CUSTOM_INSPECT](depth, options, inspect) returning
// the text to print (or a replacement value to format instead).
const CUSTOM_INSPECT = Symbol.for('dv8.inspect.custom');

const ObjectProto = Object.prototype;
const { getPrototypeOf, getOwnPropertyDescriptor, getOwnPropertySymbols, keys: objectKeys } = Object;
const hasOwn = (obj, key) => ObjectProto.hasOwnProperty.call(obj, key);
const isEnumerable = (obj, key) => ObjectProto.propertyIsEnumerable.call(obj, key);
const objectToString = (value) => ObjectProto.toString.call(value);
const inherits = (value, proto) => ObjectProto.isPrototypeOf.call(proto, value);
const getterOf = (proto, name) => getOwnPropertyDescriptor(proto, name).get;
const symbolToString = Symbol.prototype.toString;
const { isArray } = Array;

const TypedArrayProto = getPrototypeOf(Uint8Array.prototype);
const typedArrayName = getterOf(TypedArrayProto, Symbol.toStringTag);
const typedArrayLength = getterOf(TypedArrayProto, 'length');
const mapSize = getterOf(Map.prototype, 'size');
const setSize = getterOf(Set.prototype, 'size');
const AsyncFunctionProto = getPrototypeOf(async function () {});
const GeneratorFunctionProto = getPrototypeOf(function* () {});
const AsyncGeneratorFunctionProto = getPrototypeOf(async function* () {});
const VALUE_OF = {};
for (const Box of [Number, String, Boolean, Symbol, BigInt]) VALUE_OF[Box.name] = Box.prototype.valueOf;

// Brand checks: calling a built-in method that only accepts genuine instances
// is the only pure-JS way to tell a real Map from an object that merely
// inherits from Map.prototype or fakes Symbol.toStringTag.
function acceptedBy(method, arg) {
  return (value) => {
    try { method.call(value, arg); } catch { return false; }
    return true;
  };
}

const BRANDS = {
  Map: acceptedBy(mapSize),
  Set: acceptedBy(setSize),
  WeakMap: acceptedBy(WeakMap.prototype.has, ObjectProto),
  WeakSet: acceptedBy(WeakSet.prototype.has, ObjectProto),
  Error: (v) => objectToString(v) === '[object Error]' || v instanceof Error,
  RegExp: acceptedBy(getterOf(RegExp.prototype, 'global')),
  Date: acceptedBy(Date.prototype.getTime),
  ArrayBuffer: acceptedBy(getterOf(ArrayBuffer.prototype, 'byteLength')),
  SharedArrayBuffer: typeof SharedArrayBuffer === 'function'
    ? acceptedBy(getterOf(SharedArrayBuffer.prototype, 'byteLength')) : () => false,
  DataView: acceptedBy(getterOf(DataView.prototype, 'buffer')),
  Promise: (v) => v instanceof Promise || objectToString(v) === '[object Promise]',
};
for (const type of objectKeys(VALUE_OF)) BRANDS[type] = acceptedBy(VALUE_OF[type]);

// Object.prototype.toString is a cheap, non-throwing hint. Only an unknown
// tag (say, a Map subclass defining its own Symbol.toStringTag) pays for
// trying every brand, since each failed check throws.
function brandOf(value) {
  const hint = objectToString(value).slice(8, -1);
  if (hasOwn(BRANDS, hint) && BRANDS[hint](value)) return hint;
  if (hint === 'Object' || hint === 'Arguments' || hint === 'Module') return hint;
  return objectKeys(BRANDS).find((name) => BRANDS[name](value)) || 'Object';
}

function fallbackString(value) {
  try { return objectToString(value); } catch { return '[object Object]'; }
}

// ---------------------------------------------------------------- primitives

const formatNumber = (n) => (Object.is(n, -0) ? '-0' : `${n}`);

function formatPrimitive(ctx, value) {
  switch (typeof value) {
    case 'string': return formatString(ctx, value);
    case 'number': return formatNumber(value);
    case 'bigint': return `${value}n`;
    case 'symbol': return symbolToString.call(value);
    default: return String(value);
  }
}

function formatString(ctx, str) {
  let trailer = '';
  if (str.length > ctx.maxStringLength) {
    trailer = moreItems(str.length - ctx.maxStringLength, 'character');
    str = str.slice(0, ctx.maxStringLength);
  }
  // Long multi-line strings read better as one quoted piece per line.
  if (str.length > 16 && str.length > ctx.breakLength - ctx.indentLvl - 4) {
    const pieces = str.split(/(?<=\n)/).map(quote);
    return pieces.join(` +\n${' '.repeat(ctx.indentLvl + 2)}`) + trailer;
  }
  return quote(str) + trailer;
}

const ESCAPES = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r', "'": "\\'", '\\': '\\\\' };
const LONE_SURROGATE = '[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]';
const UNSAFE = new RegExp(`[\\x00-\\x1f\\x5c\\x7f-\\x9f]|${LONE_SURROGATE}`, 'g');
const UNSAFE_OR_QUOTE = new RegExp(`[\\x00-\\x1f\\x27\\x5c\\x7f-\\x9f]|${LONE_SURROGATE}`, 'g');

function escapeChar(ch) {
  if (hasOwn(ESCAPES, ch)) return ESCAPES[ch];
  const code = ch.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).toUpperCase().padStart(2, '0')}` : `\\u${code.toString(16)}`;
}

// Prefer a quote character that needs no escaping, like Node does.
function quote(str) {
  let mark = "'";
  if (str.includes("'")) {
    if (!str.includes('"')) mark = '"';
    else if (!str.includes('`') && !str.includes('${')) mark = '`';
  }
  return mark + str.replace(mark === "'" ? UNSAFE_OR_QUOTE : UNSAFE, escapeChar) + mark;
}

// ---------------------------------------------------------- object helpers

// The name shown in front of an object: the first constructor on the
// prototype chain that the value really is an instance of.
function constructorName(value) {
  for (let obj = value; obj !== null; obj = getPrototypeOf(obj)) {
    const desc = getOwnPropertyDescriptor(obj, 'constructor');
    if (desc !== undefined && typeof desc.value === 'function' &&
        desc.value.name !== '' && value instanceof desc.value) {
      return String(desc.value.name);
    }
  }
  return getPrototypeOf(value) === null ? null : 'Object';
}

// An own enumerable tag is printed as a normal key, so it is not repeated here.
function toStringTagOf(value) {
  const tag = value[Symbol.toStringTag];
  if (typeof tag !== 'string' || tag === '' || isEnumerable(value, Symbol.toStringTag)) return '';
  return tag;
}

function prefix(ctor, tag, fallback, size = '') {
  if (ctor === null) {
    const tagPart = tag !== '' && tag !== fallback ? ` [${tag}]` : '';
    return `[${fallback}${size}: null prototype]${tagPart} `;
  }
  const tagPart = tag !== '' && tag !== ctor ? ` [${tag}]` : '';
  return `${ctor}${size}${tagPart} `;
}

function enumerableKeys(value) {
  const keys = objectKeys(value);
  for (const sym of getOwnPropertySymbols(value)) {
    if (isEnumerable(value, sym)) keys.push(sym);
  }
  return keys;
}

const INDEX_KEY = /^(?:0|[1-9][0-9]*)$/;
const isIndexKey = (key) => typeof key === 'string' && INDEX_KEY.test(key) && +key < 2 ** 32 - 1;

// Listing the keys of a huge array costs one string per element (seconds for
// a 10 MB Uint8Array) while named properties on such arrays are rare, so past
// this length only symbol keys are looked for.
const KEY_SCAN_LIMIT = 50000;

function nonIndexKeys(value, length) {
  if (length > KEY_SCAN_LIMIT) return getOwnPropertySymbols(value).filter((sym) => isEnumerable(value, sym));
  return enumerableKeys(value).filter((key) => !isIndexKey(key));
}

const moreItems = (count, noun = 'item') => `... ${count} more ${noun}${count > 1 ? 's' : ''}`;

// ------------------------------------------------------------- core walker

function formatValue(ctx, value, level) {
  if (typeof value !== 'object' && typeof value !== 'function') return formatPrimitive(ctx, value);
  if (value === null) return 'null';
  const { indentLvl } = ctx;
  const seenCount = ctx.seen.length;
  try {
    const custom = callCustomInspect(ctx, value, level);
    if (custom !== undefined) return custom;
    if (ctx.seen.includes(value)) return circularMarker(ctx, value);
    return formatObject(ctx, value, level);
  } catch {
    // Proxy traps, hostile getters (e.g. Symbol.toStringTag) and stack
    // overflows can throw anywhere; printing something beats crashing console.log.
    ctx.indentLvl = indentLvl;
    ctx.seen.length = seenCount;
    return fallbackString(value);
  }
}

function callCustomInspect(ctx, value, level) {
  const method = value[CUSTOM_INSPECT];
  if (typeof method !== 'function' || method === inspect) return undefined;
  // A class prototype carrying the method should print as a plain object.
  const ctorDesc = getOwnPropertyDescriptor(value, 'constructor');
  if (typeof ctorDesc?.value === 'function' && ctorDesc.value.prototype === value) return undefined;
  // As in Node: the first argument is the remaining depth, options.depth
  // the configured one.
  const options = { ...ctx.options, depth: ctx.depth, stylize: (text) => text };
  const result = method.call(value, ctx.depth - level, options, inspect);
  if (result === value) return undefined;
  if (typeof result !== 'string') return formatValue(ctx, result, level);
  return result.replaceAll('\n', `\n${' '.repeat(ctx.indentLvl)}`);
}

function circularMarker(ctx, value) {
  if (ctx.circular === null) ctx.circular = new Map();
  if (!ctx.circular.has(value)) ctx.circular.set(value, ctx.circular.size + 1);
  return `[Circular *${ctx.circular.get(value)}]`;
}

function formatObject(ctx, value, level) {
  const ctor = constructorName(value);
  const tag = toStringTagOf(value);
  const shape = describe(ctx, value, ctor, tag);
  if (shape.short !== undefined && shape.keys.length === 0) return shape.short;
  if (level > ctx.depth) {
    const name = prefix(ctor, tag, 'Object').slice(0, -1);
    return ctor === null ? name : `[${name}]`;
  }
  level += 1;
  ctx.seen.push(value);
  ctx.currentDepth = level;
  const output = shape.entries ? shape.entries(ctx, level) : [];
  for (const key of shape.keys) output.push(formatProperty(ctx, value, key, level, false));
  ctx.seen.pop();
  let { base } = shape;
  const ref = ctx.circular === null ? undefined : ctx.circular.get(value);
  if (ref !== undefined) base = base === '' ? `<ref *${ref}>` : `<ref *${ref}> ${base}`;
  return joinEntries(ctx, output, base, shape.open, level, value);
}

// A value inside another one is indented one step further when it wraps.
function formatNested(ctx, value, level) {
  ctx.indentLvl += 2;
  const text = formatValue(ctx, value, level);
  ctx.indentLvl -= 2;
  return text;
}

// Reads the property descriptor so that getters are shown, never run.
function formatProperty(ctx, obj, key, level, valueOnly) {
  const desc = getOwnPropertyDescriptor(obj, key) || { value: obj[key], enumerable: true };
  let text;
  if (desc.value !== undefined) text = formatNested(ctx, desc.value, level);
  else if (desc.get !== undefined) text = desc.set !== undefined ? '[Getter/Setter]' : '[Getter]';
  else text = desc.set !== undefined ? '[Setter]' : 'undefined';
  return valueOnly ? text : `${propertyName(key, desc)}: ${text}`;
}

function propertyName(key, desc) {
  if (typeof key === 'symbol') return `[${symbolToString.call(key)}]`;
  if (key === '__proto__') return "['__proto__']";
  if (!desc.enumerable) return `[${key}]`;
  return /^[a-zA-Z_][a-zA-Z_0-9]*$/.test(key) ? key : quote(key);
}

// ------------------------------------------------------------------ layout

// Node's rule: entries share one line when the object holds fewer than
// COMPACT_LEVELS levels of nested objects and the line fits in breakLength.
function joinEntries(ctx, output, base, open, level, value) {
  const close = open.endsWith('[') ? ']' : '}';
  const entryCount = output.length;
  if (close === ']' && entryCount > 6) output = groupColumns(ctx, output, value);
  const head = base === '' ? open : `${base} ${open}`;
  if (ctx.currentDepth - level < COMPACT_LEVELS && entryCount === output.length) {
    // The constant 10 leaves room for whatever precedes the value on its line.
    let width = output.length * 2 + ctx.indentLvl + open.length + base.length + 10;
    for (const entry of output) width += entry.length;
    const joined = output.join(', ');
    if (width <= ctx.breakLength && !base.includes('\n') && !joined.includes('\n')) {
      return `${head} ${joined} ${close}`;
    }
  }
  const indent = `\n${' '.repeat(ctx.indentLvl)}`;
  return `${head}${indent}  ${output.join(`,${indent}  `)}${indent}${close}`;
}

// Lays out many short array entries as a roughly square table so a long list
// of numbers does not take one line per number. The sizing formula follows
// Node's so the same arrays get the same number of columns.
function groupColumns(ctx, output, value) {
  // The trailing "... more items" note is never part of the table.
  const cellCount = output.length > ctx.maxArrayLength ? output.length - 1 : output.length;
  const widths = output.slice(0, cellCount).map((entry) => entry.length);
  const widest = Math.max(...widths);
  const cellWidth = widest + 2;
  const totalWidth = widths.reduce((sum, width) => sum + width + 2, 0);
  if (cellWidth * 3 + ctx.indentLvl >= ctx.breakLength) return output;
  if (totalWidth / cellWidth <= 5 && widest > 6) return output;
  // Characters are ~2.5 times taller than wide; short entries get extra columns.
  const biasedWidth = Math.max(cellWidth - 3 - Math.sqrt(cellWidth - totalWidth / output.length), 1);
  const columns = Math.min(
    Math.round(Math.sqrt(2.5 * biasedWidth * cellCount) / biasedWidth),
    Math.floor((ctx.breakLength - ctx.indentLvl) / cellWidth),
    COMPACT_LEVELS * 4,
    15,
  );
  if (columns <= 1) return output;
  const columnWidths = [];
  for (let col = 0; col < columns; col++) {
    let width = 0;
    for (let i = col; i < cellCount; i += columns) width = Math.max(width, widths[i]);
    columnWidths.push(width + 2);
  }
  // Numbers are right-aligned like a column of figures.
  const alignRight = allNumeric(value, output.length);
  const align = (text, width) => (alignRight ? text.padStart(width) : text.padEnd(width));
  const rows = [];
  for (let rowStart = 0; rowStart < cellCount; rowStart += columns) {
    const last = Math.min(rowStart + columns, cellCount) - 1;
    let row = '';
    for (let i = rowStart; i < last; i++) row += align(`${output[i]}, `, columnWidths[i - rowStart]);
    const lastWidth = columnWidths[last - rowStart] - 2;
    rows.push(row + (alignRight ? output[last].padStart(lastWidth) : output[last]));
  }
  if (cellCount < output.length) rows.push(output[cellCount]);
  return rows;
}

// Reads descriptors rather than values so that no getter runs.
function allNumeric(value, count) {
  for (let i = 0; i < count; i++) {
    const type = typeof getOwnPropertyDescriptor(value, i)?.value;
    if (type !== 'number' && type !== 'bigint') return false;
  }
  return true;
}

// --------------------------------------------------- per-type descriptions

// A shape says how to print an object: text before the brace (base), the
// opening brace ("{" or "["; prefixed by names like "Map(2) "), the keys to
// list and optionally entries(ctx, level) producing the items shown before
// the keys. `short` is printed instead when there are no keys to list.
const shape = (open, keys, more) => ({ open, keys, base: '', ...more });

function describe(ctx, value, ctor, tag) {
  if (isArray(value)) return describeList(value, ctor, tag, 'Array', value.length, arrayEntries);
  const typedName = typedArrayName.call(value);
  if (typedName !== undefined) {
    return describeList(value, ctor, tag, typedName, typedArrayLength.call(value), typedArrayEntries);
  }
  if (typeof value === 'function') return withBase(enumerableKeys(value), functionBase(value, ctor, tag));
  const keys = enumerableKeys(value);
  const brand = brandOf(value);
  const open = `${prefix(ctor, tag, brand)}{`;
  switch (brand) {
    case 'Map': case 'Set': return describeCollection(value, ctor, tag, keys, brand);
    case 'Error': return describeError(ctx, value, ctor, tag, keys);
    case 'RegExp': return withBase(keys, typed(ctor, tag, brand, RegExp.prototype.toString.call(value)));
    case 'Date': return withBase(keys, typed(ctor, tag, brand, dateText(value)));
    case 'ArrayBuffer': case 'SharedArrayBuffer':
      return shape(open, ['byteLength', ...keys], { entries: (c) => bufferEntries(c, value) });
    case 'DataView': return shape(open, ['byteLength', 'byteOffset', 'buffer', ...keys]);
    case 'Promise': return shape(open, keys, { entries: (c, level) => promiseEntries(c, value, level) });
    case 'WeakMap': case 'WeakSet': return shape(open, keys, { entries: () => ['<items unknown>'] });
    case 'Arguments': return shape('[Arguments] {', keys, { short: '[Arguments] {}' });
    case 'Module': return shape(open, keys, { short: `${open}}` });
    default: break;
  }
  if (hasOwn(VALUE_OF, brand)) return withBase(keys, boxedBase(value, ctor, tag, brand), brand === 'String');
  const plainOpen = ctor === 'Object' && tag === '' ? '{' : `${prefix(ctor, tag, 'Object')}{`;
  return shape(plainOpen, keys, { short: `${plainOpen}}` });
}

// For values whose main text comes before the braces (functions, dates, ...).
function withBase(keys, base, dropIndexKeys = false) {
  const listed = dropIndexKeys ? keys.filter((key) => !isIndexKey(key)) : keys;
  return shape('{', listed, { base, short: base });
}

function describeList(list, ctor, tag, name, length, entries) {
  const isPlainArray = ctor === 'Array' && tag === '' && name === 'Array';
  const pre = isPlainArray ? '' : prefix(ctor, tag, name, `(${length})`);
  return shape(`${pre}[`, nonIndexKeys(list, length), {
    short: length === 0 ? `${pre}[]` : undefined,
    entries: (ctx, level) => entries(ctx, list, level, length),
  });
}

function arrayEntries(ctx, arr, level, length) {
  const output = [];
  let next = 0; // first index not yet printed
  let presentIndexes = null;
  while (next < length && output.length < ctx.maxArrayLength) {
    if (hasOwn(arr, next)) {
      output.push(formatProperty(ctx, arr, next, level, true));
      next += 1;
      continue;
    }
    // Runs of holes collapse into one entry; jumping through the key list
    // keeps huge sparse arrays such as new Array(1e9) fast.
    if (presentIndexes === null) presentIndexes = objectKeys(arr).filter(isIndexKey).map(Number);
    const end = presentIndexes.find((index) => index > next) ?? length;
    output.push(`<${end - next} empty item${end - next > 1 ? 's' : ''}>`);
    next = end;
  }
  if (next < length) output.push(moreItems(length - next));
  return output;
}

function typedArrayEntries(ctx, arr, level, length) {
  const shown = Math.min(length, ctx.maxArrayLength);
  const output = [];
  for (let i = 0; i < shown; i++) output.push(formatPrimitive(ctx, arr[i]));
  if (length > shown) output.push(moreItems(length - shown));
  return output;
}

function describeCollection(collection, ctor, tag, keys, kind) {
  const isMap = kind === 'Map';
  const size = (isMap ? mapSize : setSize).call(collection);
  const pre = prefix(ctor, tag, kind, `(${size})`);
  const entries = (ctx, level) => {
    const output = [];
    for (const item of (isMap ? Map.prototype.entries : Set.prototype.values).call(collection)) {
      if (output.length >= ctx.maxArrayLength) break;
      output.push(isMap ? `${formatNested(ctx, item[0], level)} => ${formatNested(ctx, item[1], level)}`
        : formatNested(ctx, item, level));
    }
    if (size > output.length) output.push(moreItems(size - output.length));
    return output;
  };
  return shape(`${pre}{`, keys, { short: size === 0 ? `${pre}{}` : undefined, entries });
}

function functionBase(fn, ctor, tag) {
  const source = Function.prototype.toString.call(fn);
  if (/^class[\s{]/.test(source) && source.endsWith('}')) return classBase(fn, ctor, tag);
  let type = 'Function';
  if (inherits(fn, AsyncGeneratorFunctionProto)) type = 'AsyncGeneratorFunction';
  else if (inherits(fn, AsyncFunctionProto)) type = 'AsyncFunction';
  else if (inherits(fn, GeneratorFunctionProto)) type = 'GeneratorFunction';
  let base = `[${type}${ctor === null ? ' (null prototype)' : ''}`;
  base += fn.name === '' ? ' (anonymous)]' : `: ${fn.name}]`;
  if (ctor !== type && ctor !== null) base += ` ${ctor}`;
  if (tag !== '' && ctor !== tag) base += ` [${tag}]`;
  return base;
}

function classBase(fn, ctor, tag) {
  let base = `class ${(hasOwn(fn, 'name') && fn.name) || '(anonymous)'}`;
  if (ctor !== 'Function' && ctor !== null) base += ` [${ctor}]`;
  if (tag !== '' && ctor !== tag) base += ` [${tag}]`;
  if (ctor === null) base += ' extends [null prototype]';
  else if (getPrototypeOf(fn).name) base += ` extends ${getPrototypeOf(fn).name}`;
  return `[${base}]`;
}

// Dates and regular expressions name their type only when it is unusual.
function typed(ctor, tag, type, text) {
  const pre = prefix(ctor, tag, type);
  return pre === `${type} ` ? text : pre + text;
}

function dateText(date) {
  const time = Date.prototype.getTime.call(date);
  return Number.isNaN(time) ? 'Invalid Date' : Date.prototype.toISOString.call(date);
}

function boxedBase(box, ctor, tag, type) {
  let base = `[${type}`;
  if (ctor === null) base += ' (null prototype)';
  else if (ctor !== type) base += ` (${ctor})`;
  base += `: ${formatPrimitive(UNLIMITED, VALUE_OF[type].call(box))}]`;
  return tag !== '' && tag !== ctor ? `${base} [${tag}]` : base;
}

function bufferEntries(ctx, buffer) {
  let bytes;
  try { bytes = new Uint8Array(buffer); } catch { return ['(detached)']; }
  const shown = Math.min(bytes.length, ctx.maxArrayLength);
  const hex = [];
  for (let i = 0; i < shown; i++) hex.push(bytes[i].toString(16).padStart(2, '0'));
  const more = bytes.length > shown ? ` ${moreItems(bytes.length - shown, 'byte')}` : '';
  return [`[Uint8Contents]: <${hex.join(' ')}${more}>`];
}

// Promise state is invisible to JavaScript, so the runtime may supply a hook.
// It may reject objects that only look like promises; that is not an error.
function promiseEntries(ctx, promise, level) {
  let info;
  try { info = ctx.promiseState ? ctx.promiseState(promise) : undefined; } catch { info = undefined; }
  if (info === null || typeof info !== 'object') return ['<unknown>'];
  if (info.state === 'pending') return ['<pending>'];
  const text = formatNested(ctx, info.value, level);
  return [info.state === 'rejected' ? `<rejected> ${text}` : text];
}

// ------------------------------------------------------------------ errors

function describeError(ctx, err, ctor, tag, keys) {
  const stack = errorStack(err);
  // Own name/message/stack keys would only repeat what the stack shows.
  const repeatsStack = (key) => ['name', 'message', 'stack'].includes(key) && stack.includes(err[key]);
  const listed = keys.filter((key) => !repeatsStack(key));
  if ('cause' in err && !listed.includes('cause')) listed.push('cause');
  if (isArray(err.errors) && !listed.includes('errors')) listed.push('errors');
  return withBase(listed, errorBase(ctx, err, ctor, tag, stack));
}

const errorStack = (err) => (err.stack ? String(err.stack) : Error.prototype.toString.call(err));

function errorBase(ctx, err, ctor, tag, stack) {
  const name = err.name != null ? String(err.name) : 'Error';
  stack = withConstructorName(stack, ctor, name, tag);
  const { message } = err;
  const messageAt = typeof message === 'string' && message !== '' ? stack.indexOf(message) : -1;
  // Skip the message so a message containing "    at" is not taken as a frame.
  const framesAt = stack.indexOf('\n    at', messageAt === -1 ? 0 : messageAt + message.length);
  if (framesAt === -1) {
    stack = `[${stack}]`;
  } else {
    const frames = framesWithoutCause(err, stack.slice(framesAt + 1).split('\n'));
    stack = `${stack.slice(0, framesAt)}\n${frames.join('\n')}`;
  }
  return ctx.indentLvl === 0 ? stack : stack.replaceAll('\n', `\n${' '.repeat(ctx.indentLvl)}`);
}

// Show subclass names: `class HttpError extends Error` prints "HttpError: ...".
function withConstructorName(stack, ctor, name, tag) {
  if (ctor === null || !name.endsWith('Error') || !stack.startsWith(name)) return stack;
  const after = stack[name.length];
  if (after !== undefined && after !== ':' && after !== '\n') return stack;
  const label = prefix(ctor, tag, 'Error').slice(0, -1);
  if (label === name) return stack;
  const rest = stack.slice(name.length);
  return label.includes(name) ? label + rest : `${label} [${name}]${rest}`;
}

// A cause is usually created a few calls away, so most of its trace repeats
// ours; like Node, the shared run of frames becomes a one-line note.
function framesWithoutCause(err, frames) {
  const { cause } = err;
  if (cause === null || typeof cause !== 'object' || !BRANDS.Error(cause)) return frames;
  const causeFrames = errorStack(cause).split('\n').filter((line) => line.startsWith('    at'));
  for (let i = 0; i < frames.length - 3; i++) {
    const j = causeFrames.indexOf(frames[i]);
    if (j === -1 || causeFrames.length - j <= 3) continue;
    let shared = 1;
    while (i + shared < frames.length && frames[i + shared] === causeFrames[j + shared]) shared++;
    if (shared > 3) {
      frames.splice(i + 1, shared - 2, `    ... ${shared - 2} lines matching cause stack trace ...`);
      break;
    }
  }
  return frames;
}

// -------------------------------------------------------------- public API

function makeContext(options) {
  const opts = options !== null && typeof options === 'object' ? options : {};
  const numberOr = (value, fallback) => (typeof value === 'number' ? value : fallback);
  return {
    options: opts,
    depth: opts.depth === null ? Infinity : numberOr(opts.depth, DEFAULT_DEPTH),
    breakLength: numberOr(opts.breakLength, DEFAULT_BREAK_LENGTH),
    maxArrayLength: Math.max(0, numberOr(opts.maxArrayLength, DEFAULT_MAX_ITEMS)),
    maxStringLength: Math.max(0, numberOr(opts.maxStringLength, DEFAULT_MAX_STRING)),
    promiseState: typeof opts.promiseState === 'function' ? opts.promiseState : null,
    seen: [], // objects on the path from the root, to spot cycles
    circular: null, // Map from object to its <ref *N> number
    indentLvl: 0,
    currentDepth: 0, // nesting level of the most recently opened object
  };
}

// Boxed primitives print their value in full on one line.
const UNLIMITED = makeContext({ breakLength: Infinity, maxStringLength: Infinity });

/**
 * inspect(value, options?) -> string
 * options: depth (default 2; null or Infinity for no limit), breakLength (80),
 * maxArrayLength (100), maxStringLength (10000), and promiseState(promise),
 * a runtime hook returning { state: 'pending'|'fulfilled'|'rejected', value }.
 */
function inspect(value, options) {
  try { return formatValue(makeContext(options), value, 0); } catch { return fallbackString(value); }
}

// %s prints objects that define their own toString through it, like Node;
// objects relying on a built-in toString are inspected instead.
function hasBuiltinToString(obj) {
  const method = obj.toString;
  if (typeof method !== 'function') return true;
  return /\{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(method));
}

function jsonArg(arg) {
  try {
    return `${JSON.stringify(arg)}`;
  } catch (err) {
    if (err instanceof TypeError && /circular/i.test(err.message)) return '[Circular]';
    throw err; // applyDirective falls back to inspect, e.g. for BigInts
  }
}

// Symbols cannot be converted to numbers, so they print as NaN rather than throw.
function numberArg(arg, toNumber, keepBigInt) {
  if (typeof arg === 'bigint' && keepBigInt) return `${arg}n`;
  return typeof arg === 'symbol' ? 'NaN' : formatNumber(toNumber(arg));
}

const DIRECTIVES = {
  s: (arg, options) => {
    if (typeof arg === 'number' || typeof arg === 'bigint') return formatPrimitive(UNLIMITED, arg);
    if (typeof arg !== 'object' || arg === null || !hasBuiltinToString(arg)) return String(arg);
    return inspect(arg, { ...options, depth: 0 });
  },
  d: (arg) => numberArg(arg, Number, true),
  i: (arg) => numberArg(arg, parseInt, true),
  f: (arg) => numberArg(arg, parseFloat, false),
  j: jsonArg,
  o: (arg, options) => inspect(arg, { ...options, depth: 4 }),
  O: (arg, options) => inspect(arg, options),
  c: () => '',
};

// Returns null when the format string used no directive, so it prints as is.
function applyFormat(format, args, options) {
  let text = '';
  let copiedUpTo = 0; // end of the literal text already copied into `text`
  let argIndex = 0;
  for (let i = 0; i < format.length - 1; i++) {
    if (format[i] !== '%') continue;
    const directive = format[++i];
    if (directive === '%') {
      text += format.slice(copiedUpTo, i);
      copiedUpTo = i + 1;
    } else if (argIndex + 1 < args.length && hasOwn(DIRECTIVES, directive)) {
      argIndex += 1;
      text += format.slice(copiedUpTo, i - 1) + applyDirective(DIRECTIVES[directive], args[argIndex], options);
      copiedUpTo = i + 1;
    }
  }
  if (copiedUpTo === 0) return null;
  return { text: text + format.slice(copiedUpTo), next: argIndex + 1 };
}

// console.log must not throw because one argument has a hostile toString or
// holds a BigInt that JSON cannot encode.
function applyDirective(directive, arg, options) {
  try { return directive(arg, options); } catch { return inspect(arg, options); }
}

/**
 * formatArgs(args, options?) -> string: what console.log(...args) prints,
 * without the newline. A leading string may hold %s %d %i %f %j %o %O %c %%;
 * options are passed on to inspect.
 */
function formatArgs(args, options) {
  let text = '';
  let next = 0;
  let separator = '';
  if (typeof args[0] === 'string' && args.length > 1) {
    const formatted = applyFormat(args[0], args, options);
    if (formatted !== null) {
      ({ text, next } = formatted);
      separator = ' ';
    }
  }
  for (; next < args.length; next++) {
    const arg = args[next];
    text += separator + (typeof arg === 'string' ? arg : inspect(arg, options));
    separator = ' ';
  }
  return text;
}

// ---- console.table ----

// Columns a string takes on a terminal: East Asian wide and fullwidth
// characters take two, combining marks and zero-width characters none.
function displayWidth(text) {
  let width = 0;
  for (const ch of text.replace(/\x1b\[[0-9;]*m/g, '')) {
    const c = ch.codePointAt(0);
    if (c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0x300 && c < 0x370) ||
        (c >= 0x200b && c <= 0x200f) || (c >= 0xfe00 && c <= 0xfe0f)) continue;
    const wide = (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf && c !== 0x303f) ||
      (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
      (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
      (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
      (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd);
    width += wide ? 2 : 1;
  }
  return width;
}

function renderTable(head, rows) {
  const widths = head.map((h, i) => Math.max(displayWidth(h),
    ...rows.map((r) => displayWidth(r[i] ?? ''))) + 2);
  const line = (l, m, r) => l + widths.map((w) => '─'.repeat(w)).join(m) + r;
  const row = (cells) => '│' + widths.map((w, i) => {
    const cell = cells[i] ?? '';
    return ' ' + cell + ' '.repeat(w - 1 - displayWidth(cell));
  }).join('│') + '│';
  return [line('┌', '┬', '┐'), row(head), line('├', '┼', '┤'),
    ...rows.map(row), line('└', '┴', '┘')].join('\n');
}

/**
 * formatTable(data, properties?, options?) -> string: what console.table
 * prints, as node does: a row per entry of data (an array's items, an
 * object's properties, a Map's or Set's entries), a column per key of the
 * rows that are objects, a Values column for those that are not; cells
 * formatted by inspect one level deep. data that is not an object is
 * formatted as console.log would; properties chooses the columns.
 */
function formatTable(data, properties, options) {
  if (data === null || typeof data !== 'object') return formatArgs([data], options);
  const cell = (v) => {
    const deep = v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 2;
    return inspect(v, { ...options, depth: deep ? -1 : 0, breakLength: Infinity });
  };
  const isMap = data instanceof Map;
  const isSet = data instanceof Set;
  let entries; // [index label, key cell or undefined, value]
  if (isMap) entries = [...data].map(([k, v], i) => [String(i), cell(k), v]);
  else if (isSet) entries = [...data].map((v, i) => [String(i), undefined, v]);
  else entries = Object.keys(data).map((k) => [k, undefined, data[k]]);
  const columns = [];
  const seen = new Set();
  let hasValues = false;
  const rows = entries.map(([label, key, value]) => {
    const row = { label, key, cells: new Map(), value: undefined };
    // A Map's or Set's entries are values; an array's or object's that
    // are objects spread into columns.
    if (!isMap && !isSet && value !== null && typeof value === 'object') {
      for (const k of Object.keys(value)) {
        if (!seen.has(k)) { seen.add(k); columns.push(k); }
        row.cells.set(k, cell(value[k]));
      }
    } else {
      hasValues = true;
      row.value = cell(value);
    }
    return row;
  });
  const chosen = Array.isArray(properties) ? properties.map(String) : columns;
  const head = [isMap || isSet ? '(iteration index)' : '(index)'];
  if (isMap) head.push('Key');
  head.push(...chosen);
  const withValues = hasValues || isMap || isSet;
  if (withValues) head.push('Values');
  const body = rows.map((r) => {
    const out = [r.label];
    if (isMap) out.push(r.key);
    for (const c of chosen) out.push(r.cells.get(c) ?? '');
    if (withValues) out.push(r.value ?? '');
    return out;
  });
  return renderTable(head, body);
}

return { inspect, formatArgs, formatTable };
