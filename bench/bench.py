#!/usr/bin/env python3
"""ppms-depot against nginx (dav_methods PUT) and dufs, side by side on 127.0.0.1.

Started by bench/run.sh, which installs the peers and builds the release binary. Every server
runs on 127.0.0.1, over a directory of the same local disk, TLS off. Follows
shared/notes/benchmarking.md: ~1.5 GiB of memory is touched and freed before every large timed
step, small-request runs follow an untimed warm-up, every figure is the median of 3 repetitions
with the servers interleaved, and the servers' own CPU seconds are read from /proc.

Prints one table and writes it to bench/RESULTS.md (keeping the notes below its marker).
"""

import argparse
import base64
import csv
import datetime
import http.client
import ctypes
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import xml.etree.ElementTree as ET

MIB = 1024 * 1024
GIB = 1024 * MIB
REPS = 3
SMALL_PUTS = 2000
SMALL_CONNECTIONS = 8
WARMUP_SECS = 10
SPREAD_SCHOOLS = 50
PROPFIND_FILES = 500
PROPFIND_COUNT = 300
CONCURRENT = 16
CONCURRENT_SIZE = 64 * MIB
MANY = 100
MANY_SIZE = 8 * MIB
TOUCH_BYTES = 1536 * MIB
STEPS = ["dd", "big", "c16", "c100", "small", "propfind"]
SELECTED = set(STEPS)
NOTES_MARK = "<!-- notes: kept by bench.py across runs -->"

HERE = os.path.dirname(os.path.abspath(__file__))


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


def touch_memory():
    """Allocates, writes and frees ~1.5 GiB: memory the host took back is faulted in again."""
    block = bytearray(TOUCH_BYTES)
    block[::4096] = b"\x01" * len(range(0, TOUCH_BYTES, 4096))
    del block


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent():
    """Child processes get SIGKILL if the harness dies, so no server outlives a run."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def timed_sync():
    started = time.monotonic()
    os.sync()
    return time.monotonic() - started


# ---------------------------------------------------------------------------------------------
# /proc readings.

def proc_tree(pid):
    """pid and its descendants."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except OSError:
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pids):
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / tick


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_hwm(pids):
    for pid in pids:
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


class RssSampler:
    """Samples VmRSS of a process tree every 20 ms (beside VmHWM, which counts per process)."""

    def __init__(self, pids):
        self.pids = pids
        self.peak_kib = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop.is_set():
            rss = sum(status_kib(p, "VmRSS") for p in self.pids)
            self.peak_kib = max(self.peak_kib, rss)
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


# ---------------------------------------------------------------------------------------------
# Servers.

class Server:
    name = ""
    proc = None
    port = 0

    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def pids(self):
        return proc_tree(self.proc.pid)

    def wait_ready(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited at start: see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("OPTIONS", "/")
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"{self.name} did not answer on port {self.port}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class PpmsDepot(Server):
    name = "ppms-depot"

    def __init__(self, work, binary):
        self.binary = binary
        self.root = os.path.join(work, "ppms")
        self.data = os.path.join(self.root, "data")
        self.log_path = os.path.join(self.root, "server.log")
        os.makedirs(self.root)
        policy = os.path.join(self.root, "policy.toml")
        with open(policy, "w") as f:
            f.write(f"max_file_bytes = {2 * GIB}\nschool_quota_bytes = {64 * GIB}\n")
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PPMS_DEPOT_")}
        self.env.update(
            PPMS_DEPOT_LISTEN=f"127.0.0.1:{self.port}",
            PPMS_DEPOT_DATA_DIR=self.data,
            PPMS_DEPOT_STATE_DIR=os.path.join(self.root, "state"),
            PPMS_DEPOT_POLICY_FILE=policy,
            NO_COLOR="1",
        )
        self.keys = {}
        self.folders = {}

    def issue(self, *subject):
        out = run([self.binary, "key", "issue", *subject], env=self.env).stdout
        fields = dict(
            line.split(":", 1) for line in out.splitlines() if ":" in line
        )
        return fields["account"].strip(), fields["key"].strip()

    def auth(self, who):
        account, secret = self.keys[who]
        token = base64.b64encode(f"{account}:{secret}".encode()).decode()
        return f"Basic {token}"

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "serve"],
            env=self.env,
            preexec_fn=die_with_parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log_path, "a"),
        )
        self.wait_ready()

    def put_path(self, tag):
        return f"/dav/{tag}"

    def school_folder(self, rne):
        """The crisis cell's path of a school folder (found by its rne property)."""
        if rne in self.folders:
            return self.folders[rne]
        for href, props in propfind(self, "/dav/", self.auth("cell"), depth="1"):
            if href.rstrip("/") == "/dav":
                continue
            for school, sprops in propfind(self, href, self.auth("cell"), depth="1"):
                if sprops.get("rne") == rne:
                    self.folders[rne] = school
                    return school
        raise SystemExit(f"no folder for {rne}")

    def get_path(self, rne, tag):
        return self.school_folder(rne) + f"{rne}-{tag}"

    def remove(self, rne, tag):
        school = os.path.join(self.data, rne)
        stored = f"{rne}-{tag}"
        for path in (os.path.join(school, stored),):
            if os.path.exists(path):
                os.remove(path)
        shutil.rmtree(os.path.join(school, ".versions", stored), ignore_errors=True)


class Nginx(Server):
    name = "nginx"

    def __init__(self, work):
        self.root = os.path.join(work, "nginx")
        self.data = os.path.join(self.root, "data")
        self.log_path = os.path.join(self.root, "error.log")
        for sub in ("data", "tmp", "logs"):
            os.makedirs(os.path.join(self.root, sub))
        self.port = free_port()
        self.conf = os.path.join(self.root, "nginx.conf")
        tmp = os.path.join(self.root, "tmp")
        with open(self.conf, "w") as f:
            f.write(f"""
daemon off;
user root;
worker_processes auto;
pid {self.root}/nginx.pid;
error_log {self.log_path} warn;
events {{ worker_connections 1024; }}
http {{
    access_log {self.root}/logs/access.log;
    client_body_temp_path {tmp};
    proxy_temp_path {tmp};
    fastcgi_temp_path {tmp};
    uwsgi_temp_path {tmp};
    scgi_temp_path {tmp};
    sendfile on;
    server {{
        listen 127.0.0.1:{self.port};
        root {self.data};
        client_max_body_size 0;
        location / {{
            dav_methods PUT;
            create_full_put_path on;
        }}
    }}
}}
""")

    def start(self):
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.root, "-e", self.log_path, "-c", self.conf],
            preexec_fn=die_with_parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.root, "stderr.log"), "a"),
        )
        self.wait_ready()

    def put_path(self, tag):
        return f"/{tag}"

    def get_path(self, rne, tag):
        return f"/{tag}"

    def remove(self, rne, tag):
        path = os.path.join(self.data, tag)
        if os.path.exists(path):
            os.remove(path)


class Dufs(Server):
    name = "dufs"

    def __init__(self, work, binary):
        self.binary = binary
        self.root = os.path.join(work, "dufs")
        self.data = os.path.join(self.root, "data")
        self.log_path = os.path.join(self.root, "server.log")
        os.makedirs(self.data)
        self.port = free_port()

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, self.data, "-b", "127.0.0.1", "-p", str(self.port), "--allow-upload"],
            preexec_fn=die_with_parent,
            stdin=subprocess.DEVNULL,
            stdout=open(self.log_path, "a"),
            stderr=subprocess.STDOUT,
        )
        self.wait_ready()

    def put_path(self, tag):
        return f"/{tag}"

    def get_path(self, rne, tag):
        return f"/{tag}"

    def remove(self, rne, tag):
        path = os.path.join(self.data, tag)
        if os.path.exists(path):
            os.remove(path)


def propfind(server, path, auth, depth="1"):
    """(href, {local prop name: text}) of each response of a PROPFIND."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Depth": depth}
    if auth:
        headers["Authorization"] = auth
    conn.request("PROPFIND", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 207:
        raise SystemExit(f"PROPFIND {path} on {server.name}: {response.status} {body[:200]}")
    out = []
    for resp in ET.fromstring(body):
        href = resp.find("{DAV:}href").text
        props = {}
        for prop in resp.iter():
            local = prop.tag.rsplit("}", 1)[-1]
            if prop.text and prop.text.strip():
                props[local] = prop.text.strip()
        out.append((href, props))
    return out


# ---------------------------------------------------------------------------------------------
# Clients.

def curl(server, method, path, auth=None, upload=None):
    """(status, seconds) of one curl request; the body goes to /dev/null."""
    cmd = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-X", method]
    if auth:
        cmd += ["-H", f"Authorization: {auth}"]
    if upload:
        cmd += ["-T", upload]
    cmd.append(server.base() + path)
    out = run(cmd).stdout.split()
    return int(out[0]), float(out[1])


def curl_many(server, paths, upload, auth=None):
    """Starts one curl per path at once; returns (seconds until all are done, statuses)."""
    started = time.monotonic()
    procs = []
    for path in paths:
        cmd = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T", upload]
        if auth:
            cmd += ["-H", f"Authorization: {auth}"]
        cmd.append(server.base() + path)
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
    statuses = [int(p.communicate()[0] or 0) for p in procs]
    return time.monotonic() - started, statuses


def wrk(server, method, path, count, auth="", body="", connections=SMALL_CONNECTIONS,
        seconds=None):
    """Counted (or, with `seconds`, timed and untimed-result) wrk run: a dict of the RESULT
    line."""
    mark = tempfile.mktemp(prefix="wrk-mark-")
    env = dict(os.environ, BENCH_METHOD=method, BENCH_PATH=path, BENCH_AUTH=auth,
               BENCH_BODY=body, BENCH_COUNT=str(count), BENCH_MARK=mark)
    limit = seconds or 240
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{limit}s", "--timeout", "30s",
           "-s", os.path.join(HERE, "wrk.lua"), server.base() + "/"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + limit + 5
    while proc.poll() is None and seconds is None:
        if os.path.exists(mark) or time.monotonic() > deadline:
            proc.send_signal(signal.SIGINT)
            break
        time.sleep(0.01)
    out, _ = proc.communicate(timeout=limit + 30)
    if os.path.exists(mark):
        os.remove(mark)
    if seconds is not None:
        return {}
    line = next((l for l in out.splitlines() if l.startswith("RESULT")), None)
    if line is None:
        raise SystemExit(f"wrk on {server.name}: {out}")
    result = {k: int(v) for k, v in (f.split("=") for f in line.split()[1:])}
    log(f"  wrk {server.name} {method} {path} x{count}: {result}")
    if result["count"] < count or result["errors"]:
        raise SystemExit(f"wrk on {server.name} {method} {path}: {result}\n{out}")
    return result


# ---------------------------------------------------------------------------------------------
# The run.

def median(values):
    return statistics.median(values) if values else None


def interleaved(servers, rep):
    """A different server first on each repetition, so that drift cancels out."""
    k = rep % len(servers)
    return servers[k:] + servers[:k]


def make_source(path, size):
    with open(path, "wb") as f:
        f.write(b"%PDF-1.4\n")
        left = size - 9
        while left:
            n = min(left, 8 * MIB)
            f.write(os.urandom(n))
            left -= n
    with open(path, "rb") as f:  # into the page cache
        while f.read(8 * MIB):
            pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ppms", required=True, help="ppms-depot release binary")
    parser.add_argument("--dufs", required=True, help="dufs binary")
    parser.add_argument("--work", required=True, help="directory on the disk under test")
    parser.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    parser.add_argument("--quick", action="store_true", help="1 repetition, shorter warm-up")
    parser.add_argument("--steps", default=",".join(STEPS),
                        help="comma-separated subset of " + ",".join(STEPS))
    args = parser.parse_args()
    global REPS, WARMUP_SECS, SELECTED
    SELECTED = set(args.steps.split(","))
    if args.quick:
        REPS, WARMUP_SECS = 1, 3

    work = args.work
    started = time.monotonic()
    BUSY.start()
    rnes = []
    with open(os.path.join(HERE, "..", "data", "etablissements-paris.csv")) as f:
        for row in csv.DictReader(f):
            rnes.append(row["rne"])
    big_school, warm_school, propfind_school = rnes[0], rnes[1], rnes[2]
    small_schools = rnes[3:3 + REPS]
    spread_schools = rnes[10:10 + SPREAD_SCHOOLS]

    ppms = PpmsDepot(work, args.ppms)
    ppms.keys["cell"] = ppms.issue("--crisis-cell", "bench.cell")
    for rne in [big_school, warm_school, propfind_school, *small_schools, *spread_schools]:
        ppms.keys[rne] = ppms.issue("--school", rne)
    nginx = Nginx(work)
    dufs = Dufs(work, args.dufs)
    servers = [ppms, nginx, dufs]
    try:
        for s in servers:
            s.start()
            log(f"{s.name} on port {s.port}, pid {s.proc.pid}")
        r, postal = measure(work, servers, big_school, warm_school, propfind_school,
                            small_schools, spread_schools)
    finally:
        for s in servers:
            s.stop()
    report(r, args.results, time.monotonic() - started, postal, disk(work))


def measure(work, servers, big_school, warm_school, propfind_school, small_schools,
            spread_schools):
    """Every step; returns ({(measure, server): [values]}, postal code path)."""
    ppms, nginx, dufs = servers

    src = os.path.join(work, "src")
    os.makedirs(src)
    big = os.path.join(src, "big.pdf")
    mid = os.path.join(src, "mid.pdf")
    many = os.path.join(src, "many.pdf")
    small = os.path.join(src, "small.pdf")
    log("writing source files")
    make_source(big, GIB)
    make_source(mid, CONCURRENT_SIZE)
    make_source(many, MANY_SIZE)
    make_source(small, 4096)

    r = {}  # (measure, server name) -> list of values

    def add(measure, server, value):
        r.setdefault((measure, server), []).append(value)

    # The machine's ceiling: the same 1 GiB written by dd, fsynced, on the same disk.
    for rep in range(REPS if "dd" in SELECTED else 0):
        touch_memory()
        out = os.path.join(work, "dd.out")
        t0 = time.monotonic()
        run(["dd", f"if={big}", f"of={out}", "bs=1M", "conv=fsync"])
        add("dd", "dd", GIB / MIB / (time.monotonic() - t0))
        os.remove(out)
        os.sync()
    log("dd done")

    # 1 x 1 GiB PUT, then GET.
    for rep in range(REPS if "big" in SELECTED else 0):
        for s in interleaved(servers, rep):
            tag = f"big-r{rep}.pdf"
            auth = ppms.auth(big_school) if s is ppms else None
            touch_memory()
            status, put_s = curl(s, "PUT", s.put_path(tag), auth, upload=big)
            sync_s = timed_sync()
            if status not in (200, 201, 204):
                raise SystemExit(f"{s.name} PUT 1 GiB: {status}")
            add("put1g", s.name, GIB / MIB / put_s)
            add("put1g_sync", s.name, GIB / MIB / (put_s + sync_s))
            touch_memory()
            get_auth = ppms.auth("cell") if s is ppms else None
            status, get_s = curl(s, "GET", s.get_path(big_school, tag), get_auth)
            if status != 200:
                raise SystemExit(f"{s.name} GET 1 GiB: {status}")
            add("get1g", s.name, GIB / MIB / get_s)
            s.remove(big_school, tag)
            os.sync()
    log("1 GiB done")

    # 16 x 64 MiB at once: throughput, peak RSS, CPU seconds.
    def concurrent(n, size, source, prefix, rep, measure):
        for s in interleaved(servers, rep):
            auth = ppms.auth(big_school) if s is ppms else None
            tags = [f"{prefix}-r{rep}-{i}.pdf" for i in range(n)]
            pids = s.pids()
            touch_memory()
            reset_hwm(pids)
            cpu0 = cpu_seconds(pids)
            with RssSampler(pids) as sampler:
                secs, statuses = curl_many(s, [s.put_path(t) for t in tags], source, auth)
            cpu = cpu_seconds(pids) - cpu0
            sync_s = timed_sync()
            if any(st not in (200, 201, 204) for st in statuses):
                raise SystemExit(f"{s.name} {n} x PUT: {statuses}")
            hwm = max(status_kib(p, "VmHWM") for p in pids)
            hwm_sum = sum(status_kib(p, "VmHWM") for p in pids)
            add(measure, s.name, n * size / MIB / secs)
            add(measure + "_sync", s.name, n * size / MIB / (secs + sync_s))
            add(measure + "_hwm", s.name, hwm / 1024)
            add(measure + "_hwm_sum", s.name, hwm_sum / 1024)
            add(measure + "_rss_sampled", s.name, sampler.peak_kib / 1024)
            add(measure + "_cpu", s.name, cpu)
            for t in tags:
                s.remove(big_school, t)
            os.sync()

    for rep in range(REPS if "c16" in SELECTED else 0):
        concurrent(CONCURRENT, CONCURRENT_SIZE, mid, "c16", rep, "c16")
    log("16 x 64 MiB done")
    if "c100" in SELECTED:
        concurrent(MANY, MANY_SIZE, many, "c100", 0, "c100")
    log("100 x 8 MiB done")

    # 2,000 x 4 KiB PUTs, each to a new name, after an untimed warm-up.
    for s in servers if "small" in SELECTED else []:
        auth = ppms.auth(warm_school) if s is ppms else ""
        if s is not ppms:
            os.makedirs(os.path.join(s.data, "warm"), exist_ok=True)
        path = "/dav/warm-" if s is ppms else "/warm/w-"
        wrk(s, "PUT", path, 10 ** 9, auth, small, seconds=WARMUP_SECS)
    for rep in range(REPS if "small" in SELECTED else 0):
        for s in interleaved(servers, rep):
            auth = ppms.auth(small_schools[rep]) if s is ppms else ""
            if s is ppms:
                path = f"/dav/s4k-r{rep}-"
            else:
                os.makedirs(os.path.join(s.data, f"s4k-r{rep}"), exist_ok=True)
                path = f"/s4k-r{rep}/f-"
            pids = s.pids()
            cpu0 = cpu_seconds(pids)
            res = wrk(s, "PUT", path, SMALL_PUTS, auth, small)
            cpu = cpu_seconds(pids) - cpu0
            add("s4k_rps", s.name, res["count"] / (res["elapsed_us"] / 1e6))
            add("s4k_p50", s.name, res["p50_us"] / 1000)
            add("s4k_p99", s.name, res["p99_us"] / 1000)
            add("s4k_cpu", s.name, cpu * 1000 / res["count"])
        # ppms-depot again, the same PUTs spread over 50 schools (40 each): what a deposit
        # costs without a large school folder.
        auth = "|".join(ppms.auth(rne) for rne in spread_schools)
        pids = ppms.pids()
        cpu0 = cpu_seconds(pids)
        res = wrk(ppms, "PUT", f"/dav/spread-r{rep}-", SMALL_PUTS, auth, small)
        add("s4k_spread_cpu", ppms.name, (cpu_seconds(pids) - cpu0) * 1000 / res["count"])
        add("s4k_spread_rps", ppms.name, res["count"] / (res["elapsed_us"] / 1e6))
        add("s4k_spread_p50", ppms.name, res["p50_us"] / 1000)
    log("4 KiB PUTs done")

    if "propfind" not in SELECTED:
        return r, ""
    # PROPFIND Depth 1: a folder of 500 deposits; ppms-depot also the crisis-cell root and a
    # postal code with its schools.
    # One connection: exactly PROPFIND_FILES files (more connections leave extra PUTs in flight).
    wrk(ppms, "PUT", "/dav/p-", PROPFIND_FILES, ppms.auth(propfind_school), small, connections=1)
    os.makedirs(os.path.join(dufs.data, "p500"))
    wrk(dufs, "PUT", "/p500/p-", PROPFIND_FILES, "", small, connections=1)
    folder = ppms.school_folder(propfind_school)
    postal = folder.rstrip("/").rsplit("/", 1)[0] + "/"
    listed = len(propfind(ppms, folder, ppms.auth("cell"))) - 1
    if listed != PROPFIND_FILES:
        raise SystemExit(f"ppms-depot lists {listed} of {PROPFIND_FILES} deposits")
    cases = [
        ("pf500", ppms, folder, ppms.auth("cell")),
        ("pf500", dufs, "/p500/", ""),
        ("pfroot", ppms, "/dav/", ppms.auth("cell")),
        ("pfpostal", ppms, postal, ppms.auth("cell")),
    ]
    for measure, s, path, auth in cases:
        wrk(s, "PROPFIND", path, 50, auth, connections=1)
    for rep in range(REPS):
        for measure, s, path, auth in cases:
            res = wrk(s, "PROPFIND", path, PROPFIND_COUNT, auth, connections=1)
            add(measure, s.name, res["p50_us"] / 1000)
            add(measure + "_p99", s.name, res["p99_us"] / 1000)
    log("PROPFIND done")
    return r, postal


# ---------------------------------------------------------------------------------------------
# The table.

ROWS = [
    # key, label, unit, higher is better
    ("dd", "dd 1 GiB, conv=fsync (ceiling)", "MiB/s", True),
    ("put1g", "PUT 1 GiB (ppms-depot: fsynced+hashed; peers: no fsync)", "MiB/s", True),
    ("put1g_sync", "PUT 1 GiB, then `sync`", "MiB/s", True),
    ("get1g", "GET 1 GiB (page cache)", "MiB/s", True),
    ("c16", "16 x 64 MiB concurrent PUT", "MiB/s", True),
    ("c16_sync", "16 x 64 MiB concurrent PUT, then `sync`", "MiB/s", True),
    ("c16_hwm", "peak RSS during 16 x 64 MiB (largest VmHWM)", "MiB", False),
    ("c16_hwm_sum", "peak RSS during 16 x 64 MiB (VmHWM summed over processes)", "MiB", False),
    ("c16_cpu", "server CPU during 16 x 64 MiB (utime+stime)", "s", False),
    ("c100", "100 x 8 MiB concurrent PUT (1 run)", "MiB/s", True),
    ("c100_hwm", "peak RSS during 100 x 8 MiB (largest VmHWM)", "MiB", False),
    ("s4k_rps", "2,000 x 4 KiB PUT, 8 connections", "req/s", True),
    ("s4k_p50", "4 KiB PUT latency p50", "ms", False),
    ("s4k_p99", "4 KiB PUT latency p99", "ms", False),
    ("s4k_cpu", "server CPU per 1,000 4 KiB PUTs", "s", False),
    ("s4k_spread_rps", "the same 2,000 PUTs spread over 50 schools", "req/s", True),
    ("s4k_spread_p50", "their latency p50", "ms", False),
    ("s4k_spread_cpu", "server CPU per 1,000 of them", "s", False),
    ("pf500", "PROPFIND Depth 1, folder of 500 files, p50", "ms", False),
    ("pf500_p99", "PROPFIND Depth 1, folder of 500 files, p99", "ms", False),
    ("pfroot", "PROPFIND Depth 1, crisis-cell root /dav/, p50", "ms", False),
    ("pfroot_p99", "PROPFIND Depth 1, crisis-cell root /dav/, p99", "ms", False),
    ("pfpostal", "PROPFIND Depth 1, a postal code with its schools, p50", "ms", False),
]

NAMES = ["ppms-depot", "nginx", "dufs"]


def fmt(v):
    if v is None:
        return "n/a"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}x"


def targets(m):
    """(target, figure, met) for each target of issue 6."""
    def get(key, name):
        return m.get((key, name))

    def rel(key, peer, factor, peer_key=None):
        a, b = get(key, "ppms-depot"), get(peer_key or key, peer)
        if a is None or b is None:
            return "n/a", None
        return f"{a / b:.2f}x", a >= factor * b

    out = []
    fig, ok = rel("put1g", "nginx", 1.0, "put1g_sync")
    out.append(("PUT 1 GiB (fsynced) >= 1.0x nginx PUT+sync", fig, ok))
    fig, ok = rel("put1g", "dufs", 3.0)
    out.append(("PUT 1 GiB >= 3x dufs PUT", fig, ok))
    fig, ok = rel("get1g", "nginx", 0.9)
    out.append(("GET 1 GiB >= 0.9x nginx", fig, ok))
    fig, ok = rel("c16", "nginx", 0.8)
    out.append(("16 x 64 MiB >= 0.8x nginx", fig, ok))
    hwm = get("c16_hwm", "ppms-depot")
    out.append(("peak RSS <= 32 MiB during 16 x 64 MiB", f"{fmt(hwm)} MiB",
                None if hwm is None else hwm <= 32))
    many = get("c100_hwm", "ppms-depot")
    flat = None if hwm is None or many is None else many <= 32 and many <= 1.25 * hwm
    out.append(("peak RSS flat for 100 concurrent uploads (<= 32 MiB and <= 1.25x the 16-upload"
                " peak)", f"{fmt(many)} MiB", flat))
    a, b = get("c16_cpu", "ppms-depot"), get("c16_cpu", "nginx")
    out.append(("server CPU s <= 1.5x nginx (16 x 64 MiB)", ratio(a, b),
                None if a is None or b is None else a <= 1.5 * b))
    fig, ok = rel("s4k_rps", "dufs", 1.5)
    out.append(("4 KiB PUTs (auth + audit on) >= 1.5x dufs", fig, ok))
    for key, label in (("pf500", "folder of 500 deposits"), ("pfroot", "crisis-cell root")):
        v = get(key, "ppms-depot")
        out.append((f"PROPFIND Depth 1, {label} <= 5 ms median", f"{fmt(v)} ms",
                    None if v is None else v <= 5))
    return out


def machine():
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} CPUs ({model}), {mem_kib / 1024 / 1024:.1f} GiB RAM, "
            f"Linux {platform.release()}")


def revision():
    """The commit measured, and whether the work tree had changes beside it."""
    def git(*args):
        return subprocess.run(["git", "-C", HERE, *args], capture_output=True,
                              text=True).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "src", "Cargo.toml")
    return f"`{commit}`" + (" plus uncommitted changes to src/" if dirty else "")


def versions():
    def first_line(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True)
            return (p.stdout or p.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"
    return ", ".join([
        first_line(["nginx", "-v"]),
        first_line([os.environ.get("BENCH_DUFS", "dufs"), "--version"]),
        first_line(["wrk", "-v"]).split(" [")[0],
        first_line(["curl", "--version"]).split(" (")[0],
    ])


def rustc_count():
    """Compilations running beside the benchmark (noise on 2 cores)."""
    out = subprocess.run(["pgrep", "-c", "rustc"], capture_output=True, text=True).stdout
    return int(out.strip() or 0)


class BusySampler:
    """Counts, every 2 s of the run, whether a compilation was running beside it."""

    def __init__(self):
        self.samples = 0
        self.busy = 0
        self.peak = 0
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def start(self):
        self.thread.start()

    def loop(self):
        while True:
            n = rustc_count()
            self.samples += 1
            self.busy += n > 0
            self.peak = max(self.peak, n)
            time.sleep(2)

    def summary(self):
        if not self.samples:
            return "not sampled"
        return (f"running in {self.busy} of {self.samples} samples taken every 2 s "
                f"(at most {self.peak} at once)")


BUSY = BusySampler()


def disk(work):
    """Device, file system and mount options of the work directory."""
    out = subprocess.run(["findmnt", "-no", "SOURCE,FSTYPE,OPTIONS", "-T", work],
                         capture_output=True, text=True).stdout.split()
    return " ".join(out[:2]) + (f" ({out[2]})" if len(out) > 2 else "") if out else "?"


def wrap(line):
    """Prose and list items at 100 columns; table rows and code stay whole."""
    if line.startswith(("|", "```", "#")) or len(line) <= 100:
        return line
    indent = "  " if line.startswith("- ") else ""
    return textwrap.fill(line, 100, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False)


def report(r, path, elapsed, postal, disk_text):
    m = {k: median(v) for k, v in r.items()}
    lines = []
    lines.append("# Benchmark: ppms-depot against nginx and dufs")
    lines.append("")
    lines.append(f"- Date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; "
                 f"run took {elapsed / 60:.1f} min (`bash bench/run.sh`).")
    lines.append(f"- Machine: {machine()}; every server's data and the dd target on {disk_text}.")
    lines.append(f"- ppms-depot: release build of {revision()}; peers: {versions()}.")
    lines.append(f"- Median of {REPS} runs, servers interleaved; ~1.5 GiB touched before each "
                 f"large step; 4 KiB PUTs after {WARMUP_SECS} s of untimed load per server.")
    lines.append(f"- Other compilations beside the run (`pgrep -c rustc`): {BUSY.summary()}.")
    lines.append("")
    lines.append("| measure | unit | ppms-depot | nginx | dufs | ppms ÷ nginx | ppms ÷ dufs |")
    lines.append("|---|---|---:|---:|---:|---:|---:|")
    for key, label, unit, _ in ROWS:
        if key == "dd":
            v = m.get(("dd", "dd"))
            lines.append(f"| {label} | {unit} | {fmt(v)} | | | | |")
            continue
        vals = [m.get((key, n)) for n in NAMES]
        if all(v is None for v in vals):
            continue
        lines.append(f"| {label} | {unit} | " + " | ".join(fmt(v) for v in vals)
                     + f" | {ratio(vals[0], vals[1])} | {ratio(vals[0], vals[2])} |")
    lines.append("")
    lines.append("Ratios are ppms-depot ÷ peer of the same measure: above 1 is better for "
                 "throughput, below 1 is better for latency, memory and CPU. PUT+`sync` is "
                 "timed from the start of the PUT to the end of a `sync` right after it; "
                 "ppms-depot answers only after fsync, so its PUT figure is already durable. "
                 "nginx RSS sums master and workers (shared pages counted more than once); "
                 f"PROPFIND of the postal code is `{postal}`; nginx has no PROPFIND.")
    lines.append("")
    lines.append("## Targets of issue 6")
    lines.append("")
    lines.append("| target | figure | |")
    lines.append("|---|---:|---|")
    for target, figure, ok in targets(m):
        verdict = "n/a" if ok is None else ("met" if ok else "**missed**")
        lines.append(f"| {target} | {figure} | {verdict} |")
    lines.append("")
    lines.append("Raw figures (every repetition):")
    lines.append("")
    lines.append("```")
    for (key, name), values in sorted(r.items()):
        lines.append(f"{key:<22} {name:<11} " + " ".join(fmt(v) for v in values))
    lines.append("```")
    table = "\n".join(wrap(line) for line in lines) + "\n"
    print(table)

    notes = ""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
        if NOTES_MARK in text:
            notes = text[text.index(NOTES_MARK):]
    if not notes:
        notes = NOTES_MARK + "\n\n## Notes\n\n(none yet)\n"
    with open(path, "w") as f:
        f.write(table + "\n" + notes)


def on_term(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_term)
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
