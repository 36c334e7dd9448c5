#!/usr/bin/env python3
"""A git fast-import stream for a busy repository (bench/scale.sh).

main: one commit of FILES files in 500 directories, then COMMITS commits of
one changed line each, an hour apart up to now. BRANCHES branches, each
forked from one of main's last 2,000 commits with 1 to 3 commits of its
own. Deterministic (seeded), so two runs build the same history.
Usage: scale_repo.py COMMITS BRANCHES FILES | git fast-import --quiet
"""
import random
import sys
import time

commits, branches, files = (int(a) for a in sys.argv[1:4])
rng = random.Random(7)
out = sys.stdout.buffer
now = int(time.time())
start = now - (commits + 10) * 3600
mark = 0


def data(b):
    out.write(b"data %d\n" % len(b) + b + b"\n")


def path(i):
    return b"src/d%03d/f%05d.txt" % (i % 500, i)


def commit(ref, when, msg, parent, changes):
    global mark
    mark += 1
    out.write(b"commit %s\nmark :%d\n" % (ref, mark))
    out.write(b"author Dev <dev@example.com> %d +0000\n" % when)
    out.write(b"committer Dev <dev@example.com> %d +0000\n" % when)
    data(msg)
    if parent:
        out.write(b"from :%d\n" % parent)
    for p, content in changes:
        out.write(b"M 100644 inline %s\n" % p)
        data(content)
    return mark


first = commit(b"refs/heads/main", start, b"initial", 0,
               [(path(i), b"line %d\n" % i) for i in range(files)])
main = [first]
for n in range(commits):
    f = rng.randrange(files)
    main.append(commit(b"refs/heads/main", start + (n + 1) * 3600, b"main %d" % n,
                       main[-1], [(path(f), b"main %d\n" % n)]))
for b in range(branches):
    fork = rng.randrange(max(1, len(main) - 2000), len(main))
    parent = main[fork]
    when = start + fork * 3600 + 60
    for k in range(rng.randint(1, 3)):
        f = rng.randrange(files)
        parent = commit(b"refs/heads/feat/%d" % b, when + k * 60, b"feat %d.%d" % (b, k),
                        parent, [(path(f), b"feat %d.%d\n" % (b, k))])
out.write(b"done\n")
