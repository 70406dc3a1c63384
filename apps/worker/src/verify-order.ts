/**
 * How a verified task's second run varies its input where the job-type contract allows it
 * (docs/DESIGN.md §3.6). Pure. A first run (and every task of a job without --verify) uses the
 * plain order; these give the same result exactly when the job type keeps its contract.
 */

/**
 * 0..n-1, backwards when `varied`: a reduce task's senders in the order its merge takes a key's
 * values from them (run-merge.ts ranks), so a reduce may not depend on its values' order. Keys come
 * in key order in both runs: the merge of sorted runs has no other.
 */
export function* indices(n: number, varied: boolean): Generator<number> {
  if (varied) for (let i = n - 1; i >= 0; i--) yield i;
  else for (let i = 0; i < n; i++) yield i;
}

/**
 * A map's emit with a combiner, folding a key's values as v1 ∘ (v2 ∘ v3) ∘ (v4 ∘ v5) … instead of
 * ((v1 ∘ v2) ∘ v3) ∘ …: the same for an associative combiner, which is all the contract promises
 * (values still in emit order, since map sees its split's records in order). `finish` folds the
 * last odd value in; keys keep their first emit's place in `table`, so the bytes are the same too.
 */
export function pairedCombiner<V>(table: Map<string, unknown>, combine: (a: V, b: V) => V): { emit(key: string, value: V): void; finish(): void } {
  const pending = new Map<string, V>();
  return {
    emit(key, value) {
      if (!table.has(key)) table.set(key, value);
      else if (!pending.has(key)) pending.set(key, value);
      else {
        table.set(key, combine(table.get(key) as V, combine(pending.get(key)!, value)));
        pending.delete(key);
      }
    },
    finish() {
      for (const [key, value] of pending) table.set(key, combine(table.get(key) as V, value));
      pending.clear();
    },
  };
}
