// Run: build/dv8 examples/helper.js [N]   (default N 10)
// Shows: a helper process (module `helper`): this file starts a second dv8
// running itself as the helper, then asks it for the N first primes one at
// a time, over a message channel (serdes frames on a unix socket). The
// helper keeps a count of what it answered, in its own process: a crash
// there would not take this one down (try `kill -9` on the helper's pid,
// printed first: the parent reports the questions it lost).
import { fork, parent } from 'helper';

if (parent !== null) {
  // The helper: answers { n } with the n-th prime.
  let answered = 0;
  const primes = [2];
  const nth = (n) => {
    for (let c = primes[primes.length - 1] + 1; primes.length < n; c++)
      if (primes.every((p) => p * p > c || c % p !== 0)) primes.push(c);
    return primes[n - 1];
  };
  parent.onMessage = (m) => {
    if (m === 'done') { parent.onMessage = null; return; }
    parent.send({ n: m.n, prime: nth(m.n), answered: ++answered });
  };
} else {
  const N = Number(dv8.args[0] || 10);
  const helper = fork(import.meta.filename);
  console.log(`helper pid ${helper.pid}`);
  let asked = 1;
  helper.onMessage = (m) => {
    console.log(`prime #${m.n} is ${m.prime} (the helper has answered ${m.answered})`);
    if (asked < N) helper.send({ n: ++asked });
    else helper.send('done');
  };
  helper.onExit = (status, signal, lost) => {
    console.log(`helper ended: status ${status}, signal ${signal}, ${lost} questions lost`);
  };
  helper.send({ n: 1 });
}
