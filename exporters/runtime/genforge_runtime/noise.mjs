// genforge noise contract, version 2 (docs/noise.md): Philox4x32-10 draws, as genforge_runtime.noise.
// Value i of stream s of seed S: lane i % 4 of the block with key (S mod 2^32, S >> 32) and
// counter (b mod 2^32, b / 2^32, s, 0), b = floor(i / 4). Seeds are BigInts (or safe integers)
// from 0 to 2^64 - 1, streams from 0 to 2^32 - 1, indices safe integers (below 2^53).
export const VERSION = 2;
export const LABELS_STREAM = 0, LATENT_STREAM = 1, FIRST_STEP_STREAM = 2;
const M = [0xd2511f53, 0xcd9e8d57], W = [0x9e3779b9, 0xbb67ae85], TWO_PI = 2 * Math.PI;

// [high, low] words of the 64-bit product a * b of two uint32 (16-bit halves: exact in doubles)
function mulhilo(a, b) {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const lh = al * bh, hl = ah * bl;
  const mid = ((al * bl) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return [(ah * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0, Math.imul(a, b) >>> 0];
}

// Philox4x32-10 of the counter [c0, c1, c2, c3] under the key [k0, k1]: four uint32 words
export function philox(counter, key) {
  let [c0, c1, c2, c3] = counter, [k0, k1] = key;
  for (let r = 0; r < 10; r++) {
    const [h0, l0] = mulhilo(M[0], c0), [h1, l1] = mulhilo(M[1], c2);
    [c0, c1, c2, c3] = [(h1 ^ c1 ^ k0) >>> 0, l1, (h0 ^ c3 ^ k1) >>> 0, l0];
    k0 = (k0 + W[0]) >>> 0; k1 = (k1 + W[1]) >>> 0;
  }
  return [c0, c1, c2, c3];
}

// values start .. start + count - 1 of a stream, each f(words of its block, lane)
function draw(seed, stream, start, count, out, f) {
  const s = BigInt(seed), key = [Number(s & 0xffffffffn), Number(s >> 32n)];
  if (s < 0n || s >> 64n || !(stream >= 0 && stream < 2 ** 32 && Number.isSafeInteger(start + count)))
    throw new RangeError(`seed ${seed}, stream ${stream}, values ${start} to ${start + count}: out of range`);
  for (let i = start; i < start + count; ) {
    const b = Math.floor(i / 4), w = philox([b % 2 ** 32, Math.floor(b / 2 ** 32), stream, 0], key);
    for (let lane = i - 4 * b; lane < 4 && i < start + count; lane++, i++) out[i - start] = f(w, lane);
  }
  return out;
}

export const unit = (w) => w * 2 ** -32 + 2 ** -33; // (w + 0.5) / 2^32, a double in (0, 1)
export const words = (seed, stream, start, count) =>
  draw(seed, stream, start, count, new Uint32Array(count), (w, lane) => w[lane]);
export const uniforms = (seed, stream, start, count) =>
  draw(seed, stream, start, count, new Float32Array(count), (w, lane) => (w[lane] >>> 9) * 2 ** -23 + 2 ** -24);
export const labels = (seed, stream, start, count, numClasses) =>
  draw(seed, stream, start, count, new Int32Array(count),
       (w, lane) => Math.min(Math.floor(unit(w[lane]) * numClasses), numClasses - 1));
export const gumbel = (seed, stream, start, count) =>
  draw(seed, stream, start, count, new Float32Array(count), (w, lane) => -Math.log(-Math.log(unit(w[lane]))));
// Box-Muller: lanes 0, 1 (2, 3) are r cos t, r sin t of words 0, 1 (2, 3); rounded to float32
export const normals = (seed, stream, start, count) =>
  draw(seed, stream, start, count, new Float32Array(count), (w, lane) => {
    const p = lane & 2, r = Math.sqrt(Math.log(unit(w[p])) * -2), t = unit(w[p + 1]) * TWO_PI;
    return lane & 1 ? r * Math.sin(t) : r * Math.cos(t);
  });
