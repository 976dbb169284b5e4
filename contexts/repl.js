// The REPL. This file is the body of `(function (binding) { ... })`; it
// returns the function that starts the REPL on stdin.
//
// Each input runs as a classic script in the global scope, so `let`, `const`
// and `class` declarations persist from one input to the next. Input that
// ends in the middle of a statement (a SyntaxError at the end of the input)
// waits for more lines. Works on a terminal (with prompts) and on a pipe.
//
// On a terminal Ctrl-C is the REPL's, as in node (host/repl.c watches it):
// input being evaluated is interrupted (run through binding.interruptible),
// an await in progress is abandoned, a half-typed line or multi-line input
// is dropped, and at an empty prompt the first says how to exit and the
// second in a row exits.
//
// With --persist DIR (docs/persist.md), each input that ran without an
// uncaught error is added to a journal in DIR/repl.db as it completes
// (synced as --persist-sync says), and a REPL started again replays the
// journal, silently and in order, before its first prompt: what the inputs
// made (closures included) is there again. What callbacks did later
// (timers, sockets) is not replayed.
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

const INTERRUPTED = 'ERR_SCRIPT_EXECUTION_INTERRUPTED';

function showError(err) {
  // The REPL's own frames say nothing about the user's code.
  let text = formatter.inspect(err, inspectOptions);
  if (err instanceof Error && typeof err.stack === 'string') {
    const lines = err.stack.split('\n');
    const own = lines.findIndex((line) => line.includes('dv8:repl:'));
    text = (own > 0 ? lines.slice(0, own) : lines).join('\n');
  }
  // The terminal echoed ^C where the cursor was.
  const start = interactive && err?.code === INTERRUPTED ? '\n' : '';
  binding.print(2, start + 'Uncaught ' + text + '\n');
}

// Runs the user's code; Ctrl-C meanwhile throws an Error (code INTERRUPTED).
function evalInput(code) {
  return binding.interruptible(binding.evalScript, code, '[repl]');
}

const help = `.help     this text
.exit     leave the REPL (or press Ctrl-D, or Ctrl-C twice)
.clear    drop a half-typed multi-line input (or press Ctrl-C)
Expressions print their value; let, const, class and function declarations
stay visible in later inputs. Globals: console, dv8, setTimeout, ...
`;

let pending = '';

// ---- the journal (--persist) ----

let store = null; // persist.so's raw exports and the journal's store id
if (binding.environ().DV8_PERSIST_REPL === '1') {
  const raw = binding.loadNative('persist');
  store = { raw, id: raw.open('repl') };
}

// An input that completed: in the journal before the next one runs. A
// journal that cannot be written says so, and the REPL goes on.
function journal(code) {
  if (store === null || replaying) return;
  const { raw, id } = store;
  let rc = raw.begin(id);
  if (rc === 0) rc = raw.journalAdd(id, code);
  if (rc === 0) rc = raw.commit(id);
  else raw.rollback(id);
  if (rc !== 0)
    binding.print(2, `dv8: this input is not in the journal: ${raw.error(rc, raw.errmsg(id)).message}\n`);
}

// Returns true when the line was consumed as part of a pending input.
function evaluate(code) {
  // `{ a: 1 }` reads as a block; as users mean an object, try it as an
  // expression first, as node does.
  if (/^\s*\{/.test(code) && !/;\s*$/.test(code)) {
    try {
      show(evalInput(`(${code})`));
      journal(code);
      return false;
    } catch (err) {
      if (!(err instanceof SyntaxError)) {
        showError(err);
        return false;
      }
    }
  }
  try {
    show(evalInput(code));
    journal(code);
  } catch (err) {
    if (isIncomplete(err)) return true;
    if (err instanceof SyntaxError && /await is only valid/.test(err.message)) {
      evaluateAsync(code);
    } else {
      showError(err);
    }
  }
  return false;
}

// The journal's inputs, run again in order with nothing printed; one that
// awaits is waited for. Those that fail now are counted and said.
let replaying = false;
async function replay() {
  const inputs = store.raw.journal(store.id);
  if (inputs.length === 0) return;
  let failed = 0;
  replaying = true;
  binding.setMuted(true);
  try {
    for (const code of inputs) {
      try {
        const outcome = replayOne(code);
        if (outcome !== undefined) await outcome;
      } catch {
        failed++;
      }
    }
  } finally {
    binding.setMuted(false);
    replaying = false;
  }
  if (interactive || failed > 0)
    binding.print(failed > 0 ? 2 : 1, `(replayed ${inputs.length} inputs from ${store.raw.dir}/repl.db${failed > 0 ? `; ${failed} failed this time` : ''})\n`);
}

// One input as evaluate() ran it: a promise for one that awaits.
function replayOne(code) {
  if (/^\s*\{/.test(code) && !/;\s*$/.test(code)) {
    try {
      return void evalInput(`(${code})`);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
    }
  }
  try {
    return void evalInput(code);
  } catch (err) {
    if (!(err instanceof SyntaxError && /await is only valid/.test(err.message))) throw err;
  }
  const { run, name } = compileAsync(code);
  return run().then((value) => {
    if (name !== null) globalThis[name] = value;
  });
}

// Input using top-level await runs in an async function; input waits until
// it settles, or until Ctrl-C abandons the wait (`waiting` is then another
// object, and the promise's outcome is ignored). `const x = await ...` (one
// name) defines x as a global so that later inputs see it, as declarations
// do.
let busy = false;
let waiting = null;

// The async function an input that awaits runs as, and the name its value
// defines (or null); throws what does not compile.
function compileAsync(code) {
  const decl = /^\s*(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=([\s\S]+?);?\s*$/.exec(code);
  try {
    const expr = decl ? decl[2] : code;
    const run = binding.evalScript(`(async () => (${expr}\n))`, '[repl]');
    return { run, name: decl ? decl[1] : null };
  } catch {
    return { run: binding.evalScript(`(async () => { ${code}\n })`, '[repl]'), name: null };
  }
}

function evaluateAsync(code) {
  let run, name;
  try {
    ({ run, name } = compileAsync(code));
  } catch (err) {
    showError(err);
    return;
  }
  let promise;
  try {
    promise = binding.interruptible(run);
  } catch (err) {
    showError(err); // interrupted before its first await
    return;
  }
  const wait = {};
  waiting = wait;
  busy = true;
  promise.then((value) => {
    if (waiting !== wait) return;
    if (name !== null) globalThis[name] = value;
    journal(code);
    show(name !== null ? undefined : value);
  }, (err) => {
    if (waiting === wait) showError(err);
  }).finally(() => {
    if (waiting !== wait) return;
    waiting = null;
    busy = false;
    prompt('> ');
    drain();
  });
}

let interrupts = 0; // Ctrl-C in a row at an empty prompt

function onLine(line) {
  interrupts = 0;
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
  if (!busy) prompt('> ');
}

const decoder = new TextDecoder();
const buffer = new Uint8Array(65536);
let text = '';
let id = 0;

function stop() {
  if (id !== 0) tty.close(id);
  id = 0;
  if (store !== null) store.raw.close(store.id);
  store = null;
  if (interactive) {
    binding.replSignals(null);
    binding.print(1, '\n');
  }
}

// Ctrl-C while no input is being evaluated (host/repl.c).
function onInterrupt() {
  // The terminal kept what was typed and not read yet, if anything:
  // it goes, with what was read but not evaluated.
  const typed = binding.discardInput() > 0 || text !== '';
  text = '';
  if (busy) {
    waiting = null;
    busy = false;
    interrupts = 0;
    const err = new Error('Script execution was interrupted by SIGINT');
    err.code = INTERRUPTED;
    showError(err);
    prompt('> ');
    drain(); // reading resumes
    return;
  }
  if (typed || pending !== '') {
    pending = '';
    interrupts = 0;
    binding.print(1, '\n');
    prompt('> ');
    return;
  }
  if (++interrupts === 2) {
    stop();
    binding.exit(0); // as node: other handles do not keep the program up
    return;
  }
  binding.print(1, '\n(To exit, press Ctrl+C again or Ctrl+D or type .exit)\n');
  prompt('> ');
}

let ended = false;

// Evaluates the complete lines received, unless an await is in progress.
function drain() {
  let nl;
  while (id !== 0 && !busy && (nl = text.indexOf('\n')) !== -1) {
    const line = text.slice(0, nl);
    text = text.slice(nl + 1);
    onLine(line);
  }
  if (ended && !busy && id !== 0) finish();
  else if (!busy && !ended && id !== 0) tty.readResume(id);
}

// End of input: a half-typed statement is still evaluated, so that its error
// is seen.
function finish() {
  const rest = text;
  text = '';
  if (rest !== '') onLine(rest);
  if (busy) return; // finish again once the await settles
  if (pending !== '') {
    const code = pending;
    pending = '';
    try {
      show(evalInput(code));
      journal(code);
    } catch (err) {
      showError(err);
    }
  }
  stop();
}

function onRead(n) {
  if (n < 0) {
    text += decoder.decode();
    ended = true;
    tty.readStop(id);
  } else {
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
    // Reading pauses while an await is in progress, so that input queues
    // in the kernel rather than here.
    if (busy) tty.readStop(id);
  }
  drain();
}

return async function start() {
  binding.setRepl(true);
  if (interactive) {
    binding.print(1, `Welcome to dv8 ${binding.version} (V8 ${binding.v8Version}). Type .help for help.\n`);
  }
  if (store !== null) await replay();
  prompt('> ');
  id = tty.readStart(STDIN, buffer, onRead);
  // Should the watcher fail to start, Ctrl-C keeps its default.
  if (interactive) binding.replSignals(onInterrupt);
};
