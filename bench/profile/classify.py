"""Sorts `perf script` samples of one process's threads into categories.

Why: a flame graph of two servers is hard to compare; a handful of
categories (thread hand-overs, SQLite, socket writes, the allocator...)
sums each side's samples the same way, so their difference can be read
as a table. Used by bench/profile/profile.sh.

Usage: perf script -i perf.data | python3 classify.py TID,TID,...

A sample goes to the first category whose keywords appear anywhere in
its call stack, in the order below: a sample inside a wake-up called
from SQLite's commit counts as a wake-up. Samples of other threads are
ignored.
"""

import collections
import sys

CATEGORIES = [
    ("waking another thread (futex_wake, eventfd)",
     ["futex_wake", "eventfd_write", "Waker::wake"]),
    ("WAL page writes (pwrite, kernel)", ["pwrite"]),
    ("fsync", ["fsync", "fdatasync", "ext4_sync_file"]),
    ("socket writes (writev/sendmsg, kernel)",
     ["writev", "sendmsg", "tcp_sendmsg", "__libc_write+"]),
    ("socket reads", ["recvfrom", "tcp_recvmsg", "sock_read", "__libc_read", "readv"]),
    ("sleeping and being woken (futex_wait, epoll_wait, schedule)",
     ["futex_wait", "futex_do_wait", "epoll_wait", "__schedule", "lock_contended"]),
    ("SQLite's own code",
     ["sqlite3", "Btree", "btree", "Vdbe", "vdbe", "pcache", "wal", "pager", "Pager"]),
    ("allocator", ["malloc", "mi_free", "_mi_", "mi_", "_int_free", "cfree"]),
    ("other kernel", ["[kernel.kallsyms]"]),
]


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: perf script | python3 classify.py TID,TID,...")
    tids = set(sys.argv[1].split(","))
    counts: collections.Counter = collections.Counter()
    total = 0
    for block in sys.stdin.read().split("\n\n"):
        if not block.strip():
            continue
        head = block.split("\n", 1)[0].split()
        # perf script's first line of a sample: "<comm> <tid> ..." (a
        # thread name with spaces shifts it; such threads are not ours).
        if len(head) < 2 or head[1] not in tids:
            continue
        total += 1
        for name, keys in CATEGORIES:
            if any(k in block for k in keys):
                counts[name] += 1
                break
        else:
            counts["other user code"] += 1
    for name, n in counts.most_common():
        print(f"{n:6d} {100 * n / max(total, 1):5.1f}%  {name}")
    print(f"{total:6d} samples in all")


if __name__ == "__main__":
    main()
