"""Instructions per cached ``GET loans`` (issue 17's hot path), counted by valgrind's callgrind.

Run: ``.venv/bin/python benchmarks/instructions.py [--requests N] [--connections C]``.

Wall-clock figures on a shared machine move with the neighbours' load; instruction counts do
not. This runs the gateway as ``benchmarks/load.py`` does (its own process, 1 worker, memory
mode, the Koha simulator in another process) under ``valgrind --tool=callgrind``, logs a patron
in, warms the cache, then counts the instructions the gateway process executes while it serves
``N`` cached ``GET loans`` (``callgrind_control --dump`` before and after: start-up and warm-up
are not counted). The bare aiohttp app of ``load.py`` (the same body on the same path) is
counted the same way, and the ratio printed. ``--redis`` counts the gateway a second time in
Redis mode (sessions and the read cache in Redis behind the near cache, the documented
multi-process set-up, here with one process) and prints its ratio to memory mode (issue 17's
target for CPU: at most 1.3). A few extra requests wake the process for each
dump (valgrind reads its commands only while the process runs); they are counted in ``N``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load


async def _requests(url: str, headers: dict[str, str], count: int, connections: int) -> int:
    done = 0
    async with aiohttp.ClientSession() as http:

        async def one() -> None:
            nonlocal done
            while done < count:
                done += 1
                async with http.get(url, headers=headers) as response:
                    assert response.status == 200, response.status
                    await response.read()

        await asyncio.gather(*(one() for _ in range(connections)))
    return done


def _dump(pid: int, url: str, headers: dict[str, str]) -> int:
    """Dump the counters (callgrind zeroes them after), waking the process with requests;
    the number of requests sent meanwhile."""
    control = subprocess.Popen(
        ["callgrind_control", "--dump", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    woke = 0
    while control.poll() is None:
        woke += asyncio.run(_requests(url, headers, 1, 1))
        time.sleep(0.3)
    return woke


def _totals(directory: Path, pid: int) -> list[int]:
    """The totals of each dump of ``pid``, in order."""
    found = []
    for path in directory.glob(f"cg.{pid}*"):
        text = path.read_text(errors="replace")
        part = re.search(r"^part: (\d+)", text, re.M)
        total = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        if total:
            found.append((int(part.group(1)) if part else 0, int(total.group(1))))
    return [t for _, t in sorted(found)]


def _count(pid: int, url: str, headers: dict[str, str], n: int, c: int, out: Path) -> float:
    asyncio.run(_requests(url, headers, 200, c))  # warm-up
    _dump(pid, url, headers)
    sent = asyncio.run(_requests(url, headers, n, c))
    sent += _dump(pid, url, headers)
    totals = _totals(out, pid)
    return totals[-1] / sent


@contextlib.contextmanager
def _started(args: list[str]) -> Iterator[int]:
    """``load._process`` under valgrind, tried again when the process ends before listening
    (now and then it does on this loaded machine; valgrind's log in the dump directory)."""
    for attempt in range(3):
        stack = contextlib.ExitStack()
        try:
            pid, _ = stack.enter_context(load._process(args, "======== Running on"))
        except RuntimeError as exc:
            if attempt == 2:
                raise
            print(f"(trying again: {exc})", file=sys.stderr)
            continue
        with stack:
            yield pid
        return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--no-bare", action="store_true")
    parser.add_argument("--keep", type=Path, help="copy the callgrind dumps here")
    parser.add_argument("--redis", action="store_true", help="count Redis mode too")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        load._process(
            [str(load.CLI), "simulate", "koha", "--port", "0"], "Koha REST simulator on"
        ) as (_sim, line),
    ):
        out = Path(tmp)
        config = load._tenants(line.split()[4].removesuffix("/api/v1"), out)
        valgrind = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}/cg.%p",
            "--dump-instr=no",
            "--compress-strings=no",  # each dump readable alone (callgrind_annotate)
            f"--log-file={out}/valgrind.%p.log",
        ]
        modes = [("memory", "-")] + ([("Redis", load.REDIS)] if args.redis else [])
        counted: dict[str, float] = {}
        for mode, redis in modes:
            port = load._free_port()
            base = f"http://127.0.0.1:{port}"
            gateway = load._python("gateway", str(config), str(port), "1", redis)
            with _started(valgrind + gateway) as pid:
                auth, _items, body = asyncio.run(load._prepare(base))
                headers = {"Authorization": f"Bearer {auth[load.CACHED]}"}
                url = f"{base}{load.CACHED}/loans"
                counted[mode] = _count(pid, url, headers, args.requests, args.connections, out)
            print(
                f"gateway ({mode}), cached GET loans: {counted[mode]:,.0f} instructions/request",
                flush=True,
            )
            if args.keep:  # for callgrind_annotate: the last dump is the measured window
                args.keep.mkdir(parents=True, exist_ok=True)
                for dump in out.glob(f"cg.{pid}*"):
                    shutil.copy(dump, args.keep / dump.name)
        ours = counted["memory"]
        if "Redis" in counted:
            print(
                f"ratio Redis/memory: {counted['Redis'] / ours:.2f} (target for CPU <= 1.3)",
                flush=True,
            )
        if args.no_bare:
            return
        body_file = out / "body.json"
        body_file.write_bytes(body)
        port = load._free_port()
        url = f"http://127.0.0.1:{port}{load.CACHED}/loans"
        bare = load._python("bare", str(body_file), str(port))
        with _started(valgrind + bare) as pid:
            theirs = _count(pid, url, {}, args.requests, args.connections, out)
        print(f"bare aiohttp, same body:   {theirs:,.0f} instructions/request")
        print(f"ratio bare/gateway: {theirs / ours:.2f} (per-core target >= 0.6)")


if __name__ == "__main__":
    main()
