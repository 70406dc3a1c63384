/**
 * A linearizability checker: Wing and Gong's search with Lowe's memoization, as Porcupine does it
 * (Lowe, "Testing for linearizability", 2017; Horn and Kroening, "Faster linearizability checking
 * via P-compositionality", 2015). Pure: no I/O; the clock is read only to honour the time budget.
 *
 * A history is a set of operations, each with the time its call went out and the time its answer
 * came back. It is linearizable when every operation can be given one instant between its call and
 * its return such that the answers are those of the sequential model run in that order.
 *
 * - An operation whose answer never came (a timeout, a lost reply) has `output` undefined and no
 *   return time: it may or may not have taken effect, at any instant after its call. It is given a
 *   return after everything else, and the model's step for an undefined output must allow both.
 * - The model may be nondeterministic (several states may follow a step: the system's own moves,
 *   an unknown outcome). The search runs over sets of states (the power-set construction
 *   Porcupine uses for nondeterministic models), so the search itself stays deterministic.
 * - P-compositionality: a caller that knows the model splits into independent parts checks each
 *   part alone (`checkPartitions`); a history is linearizable iff every part is.
 * - The search is bounded: past its budget (time, steps, or memo size) it answers "unknown", never
 *   hangs or grows without bound.
 * - A history that is not linearizable is explained by the longest prefix the search could
 *   linearize and the operation that could not be placed after it, with the model's reason.
 */

export interface Operation<I, O> {
  /** Who made the call (for explanations). */
  client: string;
  input: I;
  /** The answer; undefined when it never came (the operation may or may not have taken effect). */
  output: O | undefined;
  call: number;
  /** When the answer came; ignored (taken as after everything) when `output` is undefined. */
  ret?: number;
}

export interface Model<S, I, O> {
  /** The possible initial states. */
  init(): S[];
  /** The states the model may be in after the operation gave this output; none: the output is impossible. */
  step(state: S, input: I, output: O | undefined): S[];
  /** Equal states give equal keys (the memo and the state sets compare by it). */
  key(state: S): string;
  describeOp(input: I, output: O | undefined): string;
  describeState(state: S): string;
  /** Why `output` is impossible from `state` (used only in explanations). */
  whyNot?(state: S, input: I, output: O | undefined): string;
}

export interface Budget {
  /** Wall-clock time the whole check may take (ms); past it the answer is "unknown". Default 10 s. */
  timeoutMs?: number;
  /** Search steps the whole check may take; past them the answer is "unknown". Default unbounded. */
  maxSteps?: number;
  /** Configurations one part's memo may hold (its memory); past them the answer is "unknown". Default 1,000,000. */
  maxMemo?: number;
}

export interface Placed<I, O> {
  op: Operation<I, O>;
  /** The model's possible states after it. */
  after: string[];
}

export interface Explanation<I, O> {
  /** The partition the failure is in (its name given by the caller). */
  partition: string;
  /** The longest prefix of the history the search linearized, in order. */
  prefix: Placed<I, O>[];
  /** The operation that could not be placed after that prefix (its answer came before any other placement worked). */
  blocked: Operation<I, O>;
  /** The model's reasons, one per possible state after the prefix. */
  reasons: string[];
  /** A readable account of all of the above. */
  text: string;
}

export type Verdict<I, O> =
  | { result: 'ok'; steps: number; partitions: number }
  | { result: 'illegal'; steps: number; partitions: number; explanation: Explanation<I, O> }
  | { result: 'unknown'; steps: number; partitions: number; reason: string };

/** An entry of the doubly linked list the search walks: a call or a return. One class, so every node has one shape. */
class Node {
  /** A call's return node. */
  match: Node | null = null;
  prev: Node | null = null;
  next: Node | null = null;
  constructor(readonly id: number, readonly call: boolean, readonly time: number) {}
}

/** A growable bit set with a string key, for Lowe's memo of (linearized set, states). */
class Bits {
  private readonly words: Uint32Array;
  constructor(n: number) {
    this.words = new Uint32Array(Math.ceil(n / 32) || 1);
  }
  set(i: number): void {
    this.words[i >>> 5] |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5] &= ~(1 << (i & 31));
  }
  key(): string {
    let s = '';
    for (const w of this.words) s += w.toString(36) + ',';
    return s;
  }
}

class OutOfBudget extends Error {}

/** Checks one history against the model as a single part. */
export function checkHistory<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[], budget: Budget = {}): Verdict<I, O> {
  return checkPartitions(model, [{ name: 'history', ops }], budget);
}

/**
 * Checks each part on its own (P-compositionality: the caller vouches that the model splits this
 * way). The first illegal part decides; otherwise any part out of budget makes it unknown.
 */
export function checkPartitions<S, I, O>(
  model: Model<S, I, O>,
  parts: { name: string; ops: Operation<I, O>[] }[],
  budget: Budget = {},
): Verdict<I, O> {
  const clock = { start: performance.now(), timeoutMs: budget.timeoutMs ?? 10_000, maxSteps: budget.maxSteps ?? Infinity, maxMemo: budget.maxMemo ?? 1_000_000, steps: 0 };
  let unknown: string | undefined;
  for (const part of parts) {
    try {
      const explanation = checkSingle(model, part.name, part.ops, clock);
      if (explanation) return { result: 'illegal', steps: clock.steps, partitions: parts.length, explanation };
    } catch (err) {
      if (!(err instanceof OutOfBudget)) throw err;
      unknown = `partition ${part.name} (${part.ops.length} operations): ${err.message}`;
      break;
    }
  }
  if (unknown) return { result: 'unknown', steps: clock.steps, partitions: parts.length, reason: unknown };
  return { result: 'ok', steps: clock.steps, partitions: parts.length };
}

/** The entries in time order: calls before returns at equal times, so touching operations count as concurrent. */
function entryList<I, O>(ops: Operation<I, O>[]): Node {
  const events: { id: number; call: boolean; time: number }[] = [];
  ops.forEach((op, id) => {
    const ret = op.output === undefined || op.ret === undefined ? Infinity : op.ret;
    if (!(ret >= op.call)) throw new Error(`operation ${id} (${op.client}) returns at ${ret}, before its call at ${op.call}`);
    events.push({ id, call: true, time: op.call }, { id, call: false, time: ret });
  });
  events.sort((a, b) => a.time - b.time || (a.call === b.call ? a.id - b.id : a.call ? -1 : 1));
  const head = new Node(-1, false, -Infinity);
  const calls = new Map<number, Node>();
  let last = head;
  for (const e of events) {
    const n = new Node(e.id, e.call, e.time);
    n.prev = last;
    last.next = n;
    last = n;
    if (e.call) calls.set(e.id, n);
    else calls.get(e.id)!.match = n;
  }
  return head;
}

/** Takes a call and its return out of the list (the operation is linearized). */
function lift(n: Node): void {
  n.prev!.next = n.next;
  if (n.next) n.next.prev = n.prev;
  const m = n.match!;
  m.prev!.next = m.next;
  if (m.next) m.next.prev = m.prev;
}

/** Puts them back, in the reverse order of lift. */
function unlift(n: Node): void {
  const m = n.match!;
  m.prev!.next = m;
  if (m.next) m.next.prev = m;
  n.prev!.next = n;
  if (n.next) n.next.prev = n;
}

/** The search over one part; undefined when it is linearizable, else the explanation. */
function checkSingle<S, I, O>(
  model: Model<S, I, O>,
  name: string,
  ops: Operation<I, O>[],
  clock: { start: number; timeoutMs: number; maxSteps: number; maxMemo: number; steps: number },
): Explanation<I, O> | undefined {
  const head = entryList(ops);
  const dedupe = (states: S[]): S[] => {
    const seen = new Map<string, S>();
    for (const s of states) seen.set(model.key(s), s);
    return [...seen.values()];
  };
  const setKey = (states: S[]) => states.map((s) => model.key(s)).sort().join('\u0001');
  const stepAll = (states: S[], op: Operation<I, O>) => dedupe(states.flatMap((s) => model.step(s, op.input, op.output)));

  const linearized = new Bits(ops.length);
  const memo = new Set<string>();
  const stack: { node: Node; states: S[] }[] = [];
  let states = dedupe(model.init());
  let best: { prefix: { id: number; states: S[] }[]; blocked: number; states: S[] } | undefined;
  let entry = head.next;
  while (head.next) {
    if (++clock.steps > clock.maxSteps) throw new OutOfBudget(`more than ${clock.maxSteps} search steps`);
    if ((clock.steps & 1023) === 0 && performance.now() - clock.start > clock.timeoutMs) {
      throw new OutOfBudget(`over the ${clock.timeoutMs} ms budget`);
    }
    if (!entry) throw new Error('linearizability search ran off its entry list (a bug in the checker)');
    if (entry.call) {
      const next = stepAll(states, ops[entry.id]);
      let placed = false;
      if (next.length > 0) {
        linearized.set(entry.id);
        const key = linearized.key() + '|' + setKey(next);
        if (!memo.has(key)) {
          if (memo.size >= clock.maxMemo) throw new OutOfBudget(`more than ${clock.maxMemo} configurations remembered`);
          memo.add(key);
          stack.push({ node: entry, states });
          states = next;
          lift(entry);
          entry = head.next;
          placed = true;
        } else {
          linearized.clear(entry.id);
        }
      }
      if (!placed) entry = entry.next;
    } else {
      // A return reached: its operation had to be placed before here and nothing placed it.
      if (!best || stack.length > best.prefix.length) {
        best = {
          prefix: stack.map((f, i) => ({ id: f.node.id, states: i + 1 < stack.length ? stack[i + 1].states : states })),
          blocked: entry.id,
          states,
        };
      }
      const top = stack.pop();
      if (!top) return explain(model, name, ops, best);
      linearized.clear(top.node.id);
      unlift(top.node);
      states = top.states;
      entry = top.node.next;
    }
  }
  return undefined;
}

const MAX_PREFIX_SHOWN = 12;

function explain<S, I, O>(
  model: Model<S, I, O>,
  name: string,
  ops: Operation<I, O>[],
  best: { prefix: { id: number; states: S[] }[]; blocked: number; states: S[] },
): Explanation<I, O> {
  const show = (op: Operation<I, O>) => {
    const t = (x: number) => String(+x.toFixed(3));
    const ret = op.output === undefined || op.ret === undefined ? 'no answer' : `returned ${t(op.ret)}`;
    return `${op.client}: ${model.describeOp(op.input, op.output)} (called ${t(op.call)}, ${ret})`;
  };
  const prefix = best.prefix.map((p) => ({ op: ops[p.id], after: p.states.map((s) => model.describeState(s)) }));
  const blocked = ops[best.blocked];
  const reasons = best.states.map((s) => model.whyNot?.(s, blocked.input, blocked.output) ?? `not allowed from ${model.describeState(s)}`);
  const lines = [`not linearizable (${name}): after the longest linearizable prefix (${prefix.length} of ${ops.length} operations)`];
  const skipped = Math.max(0, prefix.length - MAX_PREFIX_SHOWN);
  if (skipped) lines.push(`  … ${skipped} earlier operations`);
  prefix.slice(skipped).forEach((p, i) => lines.push(`  ${skipped + i + 1}. ${show(p.op)}  → ${p.after.join(' | ')}`));
  lines.push(`no order places: ${show(blocked)}`);
  for (const r of new Set(reasons)) lines.push(`  because ${r}`);
  return { partition: name, prefix, blocked, reasons, text: lines.join('\n') };
}
