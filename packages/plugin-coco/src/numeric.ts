/** numpy's pairwise summation (the order np.sum adds float64s in), so sums round the same way. */
export function pairwiseSum(a: ArrayLike<number>, n = a.length, start = 0): number {
  if (n < 8) {
    let res = -0.0;
    for (let i = 0; i < n; i++) res += a[start + i]!;
    return res;
  }
  if (n <= 128) {
    const r = [a[start]!, a[start + 1]!, a[start + 2]!, a[start + 3]!, a[start + 4]!, a[start + 5]!, a[start + 6]!, a[start + 7]!];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j]!;
    let res = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) res += a[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, n2, start) + pairwiseSum(a, n - n2, start + n2);
}

/** np.mean of the values, or -1 when there are none (pycocotools' "undefined"). */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return -1;
  return pairwiseSum(values) / values.length;
}
