"""A word count in Dask (dask.bag on 2 worker processes), the peer `npm run bench -- scale --dask` measures.

    /usr/bin/python3 scripts/bench/dask_wordcount.py CORPUS OUT [--workers 2]

Tandem's word rule (jobs/src/wordcount-kernel.ts): a word is a maximal run of Unicode letters
(\\p{L}), lower-cased; the output is `word<TAB>count` lines in code point order. Python's `re` has no \\p{L}:
its `[^\\W\\d_]` (word characters but not digits or '_') is the letters and the few numeric
characters that are not decimal digits ('²', 'ⅷ'), so each distinct run it finds is split at
those by str.isalpha(), which is exactly the letter categories Lu, Ll, Lt, Lm, Lo (\\p{L}); each
distinct form is lower-cased with str.lower(), which like JavaScript's toLowerCase applies the full
case mappings and the final-sigma rule. (A class of every letter as ranges, the literal rule, made
`re` about 5x slower.) Invalid UTF-8 becomes U+FFFD, a non-letter, as in Node's decoder. The two can
still differ where Python's and Node's Unicode versions disagree on a code point's category or case;
the benchmark compares the outputs and says so.

The work: read_text in blocks cut at line ends, one Counter per block (a reduction: count the
block's raw forms, then merge them by their lower-cased form), the Counters merged, the result
sorted and written by this process. Scheduler: a distributed LocalCluster of N worker processes with
one thread each (python3-distributed), or without it Dask's multiprocessing scheduler with N processes.
Exit code 3 when Dask is not installed for this Python.
"""
import argparse
import re
import sys
import tempfile
import time
from collections import Counter

try:
    import dask
    import dask.bag as db
except ImportError:
    sys.stderr.write(f"dask is not installed for {sys.executable} (Debian: apt-get install python3-dask python3-distributed)\n")
    sys.exit(3)


# Runs of characters that are word characters but neither digits (Nd) nor '_': letters, and the few
# numeric characters that are not decimal digits ('²', 'ⅷ', '½'), which count_block splits off.
RUN = re.compile(r"[^\W\d_]+")


def letters_of(form):
    """The maximal runs of letters in a run of RUN (the run itself when, as nearly always, it is all letters)."""
    if form.isalpha():
        return [form]
    out, word = [], []
    for ch in form:
        if ch.isalpha():
            word.append(ch)
        elif word:
            out.append("".join(word))
            word = []
    if word:
        out.append("".join(word))
    return out


def count_block(lines):
    """The lower-cased words of one block of lines, counted: each distinct form once through letters_of and lower()."""
    raw = Counter(RUN.findall("".join(lines)))
    out = Counter()
    for form, n in raw.items():
        for word in letters_of(form):
            out[word.lower()] += n
    return out


def merge(counters):
    total = Counter()
    for c in counters:
        total.update(c)
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--blocksize", default="32MiB")
    a = ap.parse_args()
    t0 = time.perf_counter()
    bag = db.read_text(a.corpus, blocksize=a.blocksize, encoding="utf-8", errors="replace")
    total = bag.reduction(count_block, merge)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        Client = None
    if Client is not None:
        with tempfile.TemporaryDirectory(prefix="dask-wordcount-") as tmp, LocalCluster(
            n_workers=a.workers, threads_per_worker=1, processes=True, dashboard_address=None, local_directory=tmp
        ) as cluster, Client(cluster):
            counts = total.compute()
        scheduler = f"distributed LocalCluster, {a.workers} worker processes"
    else:
        counts = total.compute(scheduler="processes", num_workers=a.workers)
        scheduler = f"multiprocessing, {a.workers} processes"
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(f"{w}\t{n}\n" for w, n in sorted(counts.items()))
    sys.stderr.write(f"dask {dask.__version__}, {scheduler}: {len(counts)} words in {time.perf_counter() - t0:.2f} s\n")


if __name__ == "__main__":
    main()
