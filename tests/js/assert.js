// A small assert module for dv8's JS tests: each failure throws an Error
// whose message says what was expected and what came instead.
function show(v) {
  return globalThis.dv8 ? dv8.inspect(v) : String(v);
}

export class AssertionError extends Error {
  constructor(message) {
    super(message);
    this.name = 'AssertionError';
  }
}

export function ok(value, message) {
  if (!value) throw new AssertionError(message || `expected a truthy value, got ${show(value)}`);
}

export function equal(actual, expected, message) {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(`${message ? message + ': ' : ''}expected ${show(expected)}, got ${show(actual)}`);
  }
}

function deepEq(a, b, seen) {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (seen.has(a)) return seen.get(a) === b;
  seen.set(a, b);
  if (a instanceof Date) return Object.is(a.getTime(), b.getTime());
  if (a instanceof Map || a instanceof Set) {
    if (a.size !== b.size) return false;
    const ea = [...a], eb = [...b];
    return ea.every((x, i) => deepEq(x, eb[i], seen));
  }
  if (ArrayBuffer.isView(a) || a instanceof ArrayBuffer) {
    const ua = new Uint8Array(a.buffer || a, a.byteOffset || 0, a.byteLength);
    const ub = new Uint8Array(b.buffer || b, b.byteOffset || 0, b.byteLength);
    return ua.length === ub.length && ua.every((x, i) => x === ub[i]);
  }
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEq(a[k], b[k], seen));
}

export function deepEqual(actual, expected, message) {
  if (!deepEq(actual, expected, new Map())) {
    throw new AssertionError(`${message ? message + ': ' : ''}expected ${show(expected)}, got ${show(actual)}`);
  }
}

export function throws(fn, check, message) {
  try {
    fn();
  } catch (err) {
    if (check instanceof RegExp && !check.test(String(err && err.message))) {
      throw new AssertionError(`${message ? message + ': ' : ''}error message ${show(err && err.message)} does not match ${check}`);
    }
    if (typeof check === 'function' && check.prototype && !(err instanceof check)) {
      throw new AssertionError(`${message ? message + ': ' : ''}expected a ${check.name}, got ${show(err)}`);
    }
    return err;
  }
  throw new AssertionError(message || 'expected the function to throw');
}

export async function rejects(promise, check) {
  try {
    await promise;
  } catch (err) {
    if (check instanceof RegExp && !check.test(String(err && err.message))) {
      throw new AssertionError(`rejection message ${show(err && err.message)} does not match ${check}`);
    }
    return err;
  }
  throw new AssertionError('expected the promise to reject');
}
