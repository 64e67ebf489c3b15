/**
 * The random source balancers use when none is injected: a fresh sfc32
 * generator (Chris Doty-Humphrey's Small Fast Counting generator, from
 * PractRand, which it passes) seeded from `Math.random`. Uniform in [0, 1)
 * with 32 bits of resolution, like `Math.random`, which it replaces on the
 * hot path for one reason: in V8 every `Math.random()` call returns a freshly
 * allocated heap number, while this generator, small enough to be inlined,
 * allocates nothing per call. Not for anything cryptographic.
 */
export function defaultRandom(): () => number {
  const word = (): number => Math.floor(Math.random() * 2 ** 32) | 0;
  let a = word();
  let b = word();
  let c = word();
  // The counter starts at 1 and 12 rounds mix the seed, as PractRand seeds sfc32.
  let d = 1;
  for (let i = 0; i < 12; i++) next();
  function next(): number {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  return next;
}
