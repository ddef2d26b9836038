/** A growable confusion matrix: rows are true classes, columns predicted (sklearn's layout). */
export class ConfusionCounts {
  private counts: number[][] = [];

  constructor(private size = 0) {
    this.ensureClasses(size);
  }

  get classes(): number {
    return this.size;
  }

  add(actual: ArrayLike<number>, predicted: ArrayLike<number>): void {
    for (let i = 0; i < actual.length; i++) {
      this.ensureClasses(Math.max(actual[i], predicted[i]) + 1);
      this.counts[actual[i]][predicted[i]]++;
    }
  }

  matrix(): number[][] {
    return this.counts.map((row) => [...row]);
  }

  total(): number {
    return this.counts.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  }

  diagonal(): number {
    return this.counts.reduce((s, row, i) => s + row[i], 0);
  }

  reset(): void {
    this.counts = this.counts.map((row) => row.map(() => 0));
  }

  /** Widens the matrix to at least `size` classes (all columns of the scores, even unseen ones). */
  ensureClasses(size: number): void {
    if (size <= this.counts.length) return;
    for (const row of this.counts) while (row.length < size) row.push(0);
    while (this.counts.length < size) this.counts.push(new Array<number>(size).fill(0));
    this.size = size;
  }
}
