// The REPL. This file is the body of `(function (binding) { ... })`; it
// returns the function that starts the REPL on stdin.
//
// Each input runs as a classic script in the global scope, so `let`, `const`
// and `class` declarations persist from one input to the next. Input that
// ends in the middle of a statement (a SyntaxError at the end of the input)
// waits for more lines. Works on a terminal (with prompts) and on a pipe.
'use strict';

const tty = binding.loadNative('tty');
const STDIN = 0;
const interactive = tty.isatty(STDIN) && tty.isatty(1);
const formatter = binding.builtin('inspect');
const promiseStates = ['pending', 'fulfilled', 'rejected'];
const inspectOptions = {
  promiseState(p) {
    const [state, value] = binding.promiseState(p);
    return { state: promiseStates[state], value };
  },
};

function prompt(text) {
  if (interactive) binding.print(1, text);
}

// V8's messages for input that is fine so far but not finished.
function isIncomplete(err) {
  return err instanceof SyntaxError &&
    /Unexpected end of input|Unterminated template|missing \) after argument list$/.test(err.message);
}

function show(value) {
  binding.print(1, formatter.inspect(value, inspectOptions) + '\n');
}

function showError(err) {
  // The REPL's own frames say nothing about the user's code.
  const text = err instanceof Error && typeof err.stack === 'string'
    ? err.stack.split('\n').filter((line) => !line.includes('(dv8:repl:')).join('\n')
    : formatter.inspect(err, inspectOptions);
  binding.print(2, 'Uncaught ' + text + '\n');
}

const help = `.help     this text
.exit     leave the REPL (or press Ctrl-D)
.clear    drop a half-typed multi-line input
Expressions print their value; let, const, class and function declarations
stay visible in later inputs. Globals: console, dv8, setTimeout, ...
`;

let pending = '';

// Returns true when the line was consumed as part of a pending input.
function evaluate(code) {
  // `{ a: 1 }` reads as a block; as users mean an object, try it as an
  // expression first, as node does.
  if (/^\s*\{/.test(code) && !/;\s*$/.test(code)) {
    try {
      show(binding.evalScript(`(${code})`, '[repl]'));
      return false;
    } catch (err) {
      if (!(err instanceof SyntaxError)) {
        showError(err);
        return false;
      }
    }
  }
  try {
    show(binding.evalScript(code, '[repl]'));
  } catch (err) {
    if (isIncomplete(err)) return true;
    showError(err);
  }
  return false;
}

function onLine(line) {
  if (pending === '') {
    const cmd = line.trim();
    if (cmd === '.exit') return stop();
    if (cmd === '.help') {
      binding.print(1, help);
      return prompt('> ');
    }
    if (cmd === '') return prompt('> ');
  } else if (line.trim() === '.clear') {
    pending = '';
    return prompt('> ');
  }
  pending += (pending === '' ? '' : '\n') + line;
  if (evaluate(pending)) return prompt('... ');
  pending = '';
  prompt('> ');
}

const decoder = new TextDecoder();
const buffer = new Uint8Array(65536);
let text = '';
let id = 0;

function stop() {
  if (id !== 0) tty.close(id);
  id = 0;
  if (interactive) binding.print(1, '\n');
}

function onRead(n) {
  if (n < 0) {
    // End of input: a half-typed statement is still evaluated, so that its
    // error is seen.
    text += decoder.decode();
    if (text !== '') onLine(text);
    if (pending !== '') {
      const code = pending;
      pending = '';
      try { show(binding.evalScript(code, '[repl]')); } catch (err) { showError(err); }
    }
    return stop();
  }
  text += decoder.decode(buffer.subarray(0, n), { stream: true });
  let nl;
  while (id !== 0 && (nl = text.indexOf('\n')) !== -1) {
    const line = text.slice(0, nl);
    text = text.slice(nl + 1);
    onLine(line);
  }
}

return function start() {
  binding.setRepl(true);
  if (interactive) {
    binding.print(1, `Welcome to dv8 ${binding.version} (V8 ${binding.v8Version}). Type .help for help.\n`);
  }
  prompt('> ');
  id = tty.readStart(STDIN, buffer, onRead);
};
