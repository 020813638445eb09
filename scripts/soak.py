#!/usr/bin/env python3
"""Soak driver: three real `liaison` nodes under continuous load for MINUTES.

    scripts/soak.py --bin target/release/liaison --minutes 30 --out DIR

Python 3 standard library only; everything goes through the `liaison` CLI.
Normally started by scripts/soak.sh, which builds the release binary first.

Topology (as tests/tests/common::three_agencies): A<->B up to RED, B<->C up to
GREEN, relay both ways; C is not enrolled with A, so A's records reach C only
through B. Load:
  * publishers at A and C, back to back (fictional values: s<n>.soak.example.org,
    +44 7700 900xxx, 192.0.2.x), one CLI call at a time each;
  * a searcher alternating local searches at A and C and federated searches;
  * a lag probe: every SOAK_PROBE_SECONDS a GREEN record published at A (then at
    C) is awaited at the other end, through B;
  * B flaps: every SOAK_FLAP_SECONDS it is stopped (SIGTERM) for
    SOAK_DOWN_SECONDS, then started again on the same port.
Every SOAK_SAMPLE_SECONDS (default 60) one row is written: RSS and open fds of
each node process (/proc), records held per node, publish / search / federated
search latency p50 and p99 over the interval (wall time of one CLI call:
process start, mutual-TLS connect, the RPC), and sync lag.

Outputs in --out: soak.csv, soak.md (table and summary), soak.svg (plot), and
the node logs when something failed. Exit status 1 with a clear message if a
node dies or fails to start, init/enrolment fails, or B ignores SIGTERM; failed
publishes and searches are counted in the table (`publishes (err)`), not fatal.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soak_plot  # noqa: E402

ENV = lambda name, default: float(os.environ.get(name, default))  # noqa: E731
SAMPLE_SECONDS = ENV("SOAK_SAMPLE_SECONDS", 60)
FLAP_SECONDS = ENV("SOAK_FLAP_SECONDS", 60)
DOWN_SECONDS = ENV("SOAK_DOWN_SECONDS", 10)
PROBE_SECONDS = ENV("SOAK_PROBE_SECONDS", 10)
PUBLISH_PAUSE = ENV("SOAK_PUBLISH_PAUSE", 0.2)
SEARCH_PAUSE = ENV("SOAK_SEARCH_PAUSE", 0.5)
LAG_TIMEOUT = 180.0


class SoakError(Exception):
    """A failure that ends the soak with a clear message."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, binary, root, letter):
        self.binary = binary
        self.letter = letter
        self.name = f"Agency {letter} (soak)"
        self.dir = os.path.join(root, letter.lower())
        self.log_path = os.path.join(root, f"{letter.lower()}.log")
        self.port = free_port()
        self.proc = None
        self.restarts = 0

    def cli(self, *args, timeout=60):
        """Runs `liaison --dir DIR ARGS`; returns (ok, seconds, stdout, stderr)."""
        start = time.monotonic()
        try:
            out = subprocess.run([self.binary, "--dir", self.dir, *args], capture_output=True,
                                 text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False, time.monotonic() - start, "", f"timed out after {timeout}s"
        return out.returncode == 0, time.monotonic() - start, out.stdout, out.stderr

    def cli_ok(self, *args):
        ok, _, stdout, stderr = self.cli(*args)
        if not ok:
            raise SoakError(f"{self.name}: liaison {' '.join(args)} failed: {stderr.strip()}")
        return stdout

    def init(self):
        address = f"127.0.0.1:{self.port}"
        out = subprocess.run([self.binary, "init", "--dir", self.dir, "--name", self.name,
                              "--listen", address, "--endpoint", address, "--country", "GB"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise SoakError(f"{self.name}: init failed: {out.stderr.strip()}")

    def start(self):
        log = open(self.log_path, "a")
        env = dict(os.environ, LIAISON_LOG=os.environ.get("LIAISON_LOG", "info"))
        self.proc = subprocess.Popen([self.binary, "run", "--dir", self.dir], stdout=subprocess.DEVNULL,
                                     stderr=log, env=env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SoakError(f"{self.name} exited at start ({self.proc.returncode}); see {self.log_path}")
            ok, _, _, _ = self.cli("identity", "show", "--json", timeout=10)
            if ok:
                return
            time.sleep(0.2)
        raise SoakError(f"{self.name} did not answer within 60 s of starting; see {self.log_path}")

    def stop(self, timeout=30):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise SoakError(f"{self.name} ignored SIGTERM for {timeout} s and was killed")
        self.proc = None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def proc_stats(self):
        """(RSS MiB, open fds) of the node process, or (None, None) when it is down."""
        if not self.alive():
            return None, None
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                rss_kb = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
            fds = len(os.listdir(f"/proc/{self.proc.pid}/fd"))
        except (OSError, StopIteration):
            return None, None
        return round(rss_kb / 1024, 1), fds

    def records(self):
        ok, _, stdout, _ = self.cli("identity", "show", "--json", timeout=30)
        if not ok:
            return None
        try:
            # IdentityInfo in the proto3 JSON mapping: a uint64 prints as a string.
            return int(json.loads(stdout).get("records"))
        except (ValueError, TypeError):
            return None

    def holds(self, value):
        ok, _, stdout, _ = self.cli("search", value, "--json", timeout=30)
        if not ok:
            return False
        try:
            return len(json.loads(stdout).get("records", [])) > 0
        except ValueError:
            return False


class Stats:
    """Samples collected by the workers, drained once per interval."""

    def __init__(self):
        self.lock = threading.Lock()
        self.series = {}
        self.counters = {}

    def add(self, name, value):
        with self.lock:
            self.series.setdefault(name, []).append(value)

    def count(self, name, n=1):
        with self.lock:
            self.counters[name] = self.counters.get(name, 0) + n

    def drain(self):
        with self.lock:
            series, counters = self.series, self.counters
            self.series, self.counters = {}, {}
        return series, counters


def percentile(values, p):
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def fictional_value(letter, n):
    """Cycles through domains, phones and documentation IPs (all fictional)."""
    match n % 4:
        case 0 | 1:
            return "domain", f"s{n}.{letter.lower()}.soak.example.org"
        case 2:
            return "phone", f"+44 7700 900{n % 1000:03d}"
        case _:
            return "ip", f"192.0.2.{n % 254 + 1}"


class Soak:
    def __init__(self, binary, minutes, out):
        self.binary = binary
        self.minutes = minutes
        self.out = out
        self.root = tempfile.mkdtemp(prefix="liaison-soak-")
        self.nodes = {l: Node(binary, self.root, l) for l in "ABC"}
        self.stats = Stats()
        self.stop_event = threading.Event()
        self.failure = None
        self.b_lock = threading.Lock()

    # --- setup ---
    def setup(self):
        a, b, c = (self.nodes[l] for l in "ABC")
        for node in (a, b, c):
            node.init()
            node.start()
        bundles = {}
        for node in (a, b, c):
            path = os.path.join(self.root, f"{node.letter.lower()}.bundle")
            node.cli_ok("identity", "export", "--out", path)
            bundles[node.letter] = path
        for node, partner, tlp in ((a, "B", "red"), (b, "A", "red"), (b, "C", "green"), (c, "B", "green")):
            node.cli_ok("partner", "add", bundles[partner], "--max-tlp", tlp, "--relay", "--yes")

    # --- workers ---
    def fail(self, message):
        if self.failure is None:
            self.failure = message
        self.stop_event.set()

    def publisher(self, letter):
        node = self.nodes[letter]
        n = 0
        while not self.stop_event.is_set():
            kind, value = fictional_value(letter, n)
            ok, seconds, _, stderr = node.cli("publish", "--kind", kind, "--value", value,
                                               "--tlp", "green", "--label", "fraud",
                                               "--evaluation", "B2", "--json")
            if ok:
                self.stats.add(f"publish_{letter}", seconds * 1000)
            else:
                self.stats.count(f"publish_errors_{letter}")
                if not node.alive():
                    self.fail(f"{node.name} died while publishing: {stderr.strip()}")
                    return
                print(f"  publish at {letter} failed: {stderr.strip()[:200]}", flush=True)
            n += 1
            self.stop_event.wait(PUBLISH_PAUSE)

    def searcher(self):
        n = 0
        while not self.stop_event.is_set():
            letter = "AC"[n % 2]
            node = self.nodes[letter]
            _, value = fictional_value("AC"[(n // 2) % 2], n * 7)
            if n % 4 < 2:
                ok, seconds, _, _ = node.cli("search", value, "--json")
                series = "search"
            else:
                ok, seconds, _, _ = node.cli("search", value, "--federated", "--justification",
                                             "soak test", "--case", "SOAK-1", "--json")
                series = "federated"
            if ok:
                self.stats.add(series, seconds * 1000)
            else:
                self.stats.count(f"{series}_errors")
            n += 1
            self.stop_event.wait(SEARCH_PAUSE)

    def prober(self):
        n = 0
        while not self.stop_event.wait(PROBE_SECONDS if n else 1):
            src, dst = (self.nodes["A"], self.nodes["C"]) if n % 2 == 0 else (self.nodes["C"], self.nodes["A"])
            value = f"probe{n}.{src.letter.lower()}.soak.example.org"
            ok, _, _, stderr = src.cli("publish", "--kind", "domain", "--value", value, "--tlp", "green",
                                       "--evaluation", "B2", "--json")
            n += 1
            if not ok:
                self.stats.count("probe_errors")
                continue
            start = time.monotonic()
            while not self.stop_event.is_set():
                if dst.holds(value):
                    self.stats.add("lag", (time.monotonic() - start) * 1000)
                    break
                if time.monotonic() - start > LAG_TIMEOUT:
                    self.stats.count("lag_timeouts")
                    break
                time.sleep(0.1)

    def flapper(self):
        b = self.nodes["B"]
        # Out of phase with the samples, so that B is up (for a while) when sampled.
        wait = FLAP_SECONDS * 0.4
        while not self.stop_event.wait(wait):
            wait = FLAP_SECONDS - DOWN_SECONDS
            with self.b_lock:
                try:
                    b.stop()
                except SoakError as err:
                    self.fail(str(err))
                    return
            if self.stop_event.wait(DOWN_SECONDS):
                return
            with self.b_lock:
                try:
                    b.start()
                    b.restarts += 1
                except SoakError as err:
                    self.fail(str(err))
                    return

    # --- sampling ---
    def sample(self, minute):
        series, counters = self.stats.drain()
        row = {"minute": minute}
        for letter, node in self.nodes.items():
            with self.b_lock if letter == "B" else _nolock():
                rss, fds = node.proc_stats()
                records = node.records() if node.alive() else None
            row[f"rss_mb_{letter}"] = rss
            row[f"fds_{letter}"] = fds
            row[f"records_{letter}"] = records
        publish = series.get("publish_A", []) + series.get("publish_C", [])
        row["publishes"] = len(publish)
        row["publish_errors"] = counters.get("publish_errors_A", 0) + counters.get("publish_errors_C", 0)
        for name, values in (("publish", publish), ("search", series.get("search", [])),
                             ("federated", series.get("federated", []))):
            row[f"{name}_p50_ms"] = _round(percentile(values, 50))
            row[f"{name}_p99_ms"] = _round(percentile(values, 99))
        row["searches"] = len(series.get("search", [])) + len(series.get("federated", []))
        row["search_errors"] = counters.get("search_errors", 0) + counters.get("federated_errors", 0)
        lag = series.get("lag", [])
        row["lag_p50_ms"] = _round(percentile(lag, 50))
        row["lag_max_ms"] = _round(max(lag) if lag else None)
        row["lag_timeouts"] = counters.get("lag_timeouts", 0)
        row["b_restarts"] = self.nodes["B"].restarts
        return row

    def run(self):
        print(f"== soak: {self.minutes} min, nodes in {self.root}", flush=True)
        self.setup()
        print("== three nodes up and enrolled (A<->B red, B<->C green, relay); load starts", flush=True)
        workers = [threading.Thread(target=self.publisher, args=("A",)),
                   threading.Thread(target=self.publisher, args=("C",)),
                   threading.Thread(target=self.searcher), threading.Thread(target=self.prober),
                   threading.Thread(target=self.flapper)]
        for w in workers:
            w.daemon = True
            w.start()
        rows = []
        started = time.monotonic()
        for i in range(1, int(self.minutes * 60 / SAMPLE_SECONDS) + 1):
            if self.stop_event.wait(max(0.0, started + i * SAMPLE_SECONDS - time.monotonic())):
                break
            for letter in "AC":
                if not self.nodes[letter].alive():
                    self.fail(f"{self.nodes[letter].name} died (exit {self.nodes[letter].proc.returncode})")
            if self.failure:
                break
            row = self.sample(round(i * SAMPLE_SECONDS / 60, 2))
            rows.append(row)
            self.write(rows)
            print("  " + ", ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        self.stop_event.set()
        for w in workers:
            w.join(timeout=LAG_TIMEOUT)
        return rows

    # --- output ---
    def write(self, rows):
        os.makedirs(self.out, exist_ok=True)
        columns = list(rows[0].keys())
        with open(os.path.join(self.out, "soak.csv"), "w") as f:
            f.write(",".join(columns) + "\n")
            for row in rows:
                f.write(",".join("" if row[c] is None else str(row[c]) for c in columns) + "\n")
        with open(os.path.join(self.out, "soak.md"), "w") as f:
            f.write(markdown(rows))
        soak_plot.write_svg(rows, os.path.join(self.out, "soak.svg"))

    def keep_logs(self):
        os.makedirs(self.out, exist_ok=True)
        for letter in "abc":
            path = os.path.join(self.root, f"{letter}.log")
            if os.path.exists(path):
                shutil.copy(path, os.path.join(self.out, f"node-{letter}.log"))

    def cleanup(self):
        for node in self.nodes.values():
            try:
                node.stop(timeout=15)
            except SoakError:
                pass
            node.kill()
        if os.environ.get("SOAK_KEEP") == "1":
            print(f"== node directories kept in {self.root} (SOAK_KEEP=1)")
        else:
            shutil.rmtree(self.root, ignore_errors=True)


class _nolock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _round(value):
    return None if value is None else round(value, 1)


def _cell(value):
    return "–" if value is None else str(value)


def markdown(rows):
    head = ["min", "RSS MiB A/B/C", "fds A/B/C", "records A/B/C", "publishes (err)",
            "publish p50/p99 ms", "search p50/p99 ms", "federated p50/p99 ms", "sync lag p50/max ms",
            "B restarts"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        tri = lambda key: "/".join(_cell(r[f"{key}_{l}"]) for l in "ABC")  # noqa: E731
        cells = [r["minute"], tri("rss_mb"), tri("fds"), tri("records"),
                 f"{r['publishes']} ({r['publish_errors']})",
                 f"{_cell(r['publish_p50_ms'])}/{_cell(r['publish_p99_ms'])}",
                 f"{_cell(r['search_p50_ms'])}/{_cell(r['search_p99_ms'])}",
                 f"{_cell(r['federated_p50_ms'])}/{_cell(r['federated_p99_ms'])}",
                 f"{_cell(r['lag_p50_ms'])}/{_cell(r['lag_max_ms'])}"
                 + (f" ({r['lag_timeouts']} timed out)" if r["lag_timeouts"] else ""),
                 r["b_restarts"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True, help="the liaison binary (release build)")
    parser.add_argument("--minutes", type=float, required=True)
    parser.add_argument("--out", required=True, help="directory for soak.csv, soak.md, soak.svg")
    args = parser.parse_args()
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"soak: {args.bin} is not an executable liaison binary")
    soak = Soak(os.path.abspath(args.bin), args.minutes, args.out)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    status = 0
    try:
        rows = soak.run()
        if soak.failure:
            raise SoakError(soak.failure)
        if not rows:
            raise SoakError("no sample was taken (run longer than one sample interval)")
        print(f"== done: {os.path.join(args.out, 'soak.md')}, soak.csv, soak.svg")
        print(markdown(rows))
    except SoakError as err:
        print(f"soak FAILED: {err}", file=sys.stderr)
        soak.keep_logs()
        print(f"   node logs copied to {args.out}/node-*.log", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print("soak interrupted; stopping the nodes", file=sys.stderr)
        soak.stop_event.set()
        status = 130
    finally:
        soak.stop_event.set()
        soak.cleanup()
    sys.exit(status)


if __name__ == "__main__":
    main()
