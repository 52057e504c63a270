"""Boots a throwaway Linux guest under qemu to test against the real kernel.

This machine's kernel may lack IPVS, so the kernel tests boot Debian 12's
cloud kernel (which has it) under qemu's software emulation, with an
initramfs holding busybox, the IPVS modules, the host programs a test names
(with their shared libraries) and the test's files. The guest has no network
card; it routes the 192.0.2.0/24 documentation range to loopback so that IPVS
accepts real servers there.

A test writes a guest script (busybox sh) that prints lines
    RESULT <name> PASS|FAIL <detail>
and the harness returns them parsed, so one boot runs several test cases.

Costs are kept low by caching, outside the work tree (MPP_TEST_CACHE, default
/var/cache/mpp-test-kernel): the unpacked kernel and modules per version, and
the gzip'd base initramfs (busybox, modules, host programs such as keepalived
and perl) keyed by the content it was built from. What changes per run (the
project's binaries, configs, scripts) goes into a small second archive that
the kernel unpacks over the first.

Python 3 standard library only.
"""

import fcntl
import gzip
import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

CACHE_ROOT = os.environ.get("MPP_TEST_CACHE", "/var/cache/mpp-test-kernel")
KERNEL_META = "linux-image-cloud-amd64"
BUSYBOX = "/bin/busybox"
# ip_vs pulls nf_conntrack, nf_defrag_ipv4/6 and libcrc32c through modules.dep.
MODULE_PATTERNS = [r"ip_vs(_\w+)?\.ko$"]
PERL_LIB_DIRS = ["/usr/lib/x86_64-linux-gnu/perl-base"]

# Bump when the layout of the base archive changes, to invalidate caches.
BASE_FORMAT = "3"


def log(msg):
    print("guest: " + msg, file=sys.stderr, flush=True)


class GuestError(Exception):
    pass


# ---------------------------------------------------------------- kernel


class _Lock:
    """An exclusive flock on a file, so that concurrent runs do not race
    while filling the cache."""

    def __init__(self, path):
        self.path = path
        self.fd = None

    def __enter__(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _run(argv, **kw):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kw)


def _kernel_package():
    """The versioned package the cloud meta-package points at."""

    def lookup():
        try:
            out = _run(["apt-cache", "depends", KERNEL_META]).stdout
        except subprocess.CalledProcessError:
            return None
        m = re.search(r"Depends:\s*(linux-image-\S+-cloud-amd64)", out)
        return m.group(1) if m else None

    pkg = lookup()
    if pkg is None:
        log("no %s in the apt lists; running apt-get update" % KERNEL_META)
        _run(["apt-get", "update", "-qq"])
        pkg = lookup()
    if pkg is None:
        raise GuestError("cannot find a Debian cloud kernel package")
    return pkg


class Kernel:
    """An unpacked Debian cloud kernel: vmlinuz and its modules tree."""

    def __init__(self, root, release):
        self.root = root
        self.release = release
        self.vmlinuz = os.path.join(root, "boot", "vmlinuz-" + release)
        self.moddir = os.path.join(root, "lib", "modules", release)


def _find_cached_kernel():
    """Any complete kernel already in the cache (the newest), for offline
    runs."""
    try:
        names = sorted(os.listdir(CACHE_ROOT), reverse=True)
    except FileNotFoundError:
        return None
    for name in names:
        root = os.path.join(CACHE_ROOT, name)
        if os.path.exists(os.path.join(root, ".complete")):
            return Kernel(root, name.replace("linux-image-", ""))
    return None


def ensure_kernel():
    """Returns the cached kernel, downloading and unpacking it on first use.
    MPP_TEST_KERNEL names a package to use instead of the current one."""
    with _Lock(os.path.join(CACHE_ROOT, ".lock")):
        try:
            pkg = os.environ.get("MPP_TEST_KERNEL") or _kernel_package()
        except (GuestError, subprocess.CalledProcessError, OSError):
            cached = _find_cached_kernel()
            if cached is None:
                raise
            log("apt unavailable; using cached %s" % cached.release)
            return cached
        release = pkg[len("linux-image-"):]
        root = os.path.join(CACHE_ROOT, pkg)
        kernel = Kernel(root, release)
        if os.path.exists(os.path.join(root, ".complete")):
            return kernel
        log("fetching %s (once; cached in %s)" % (pkg, CACHE_ROOT))
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        with tempfile.TemporaryDirectory(dir=CACHE_ROOT) as tmp:
            # apt's sandbox user must be able to write the download directory.
            os.chmod(tmp, 0o777)
            _run(["apt-get", "download", "-qq", pkg], cwd=tmp)
            debs = [f for f in os.listdir(tmp) if f.endswith(".deb")]
            if len(debs) != 1:
                raise GuestError("apt-get download gave %r" % debs)
            _run(["dpkg", "-x", os.path.join(tmp, debs[0]), root])
        _run(["depmod", "-b", root, release])
        if not os.path.exists(kernel.vmlinuz):
            raise GuestError("no %s in %s" % (kernel.vmlinuz, pkg))
        open(os.path.join(root, ".complete"), "w").close()
        return kernel


def _module_closure(kernel, patterns):
    """Relative paths (under the modules dir) of the modules matching
    patterns plus everything they depend on, from modules.dep."""
    deps = {}
    with open(os.path.join(kernel.moddir, "modules.dep")) as f:
        for line in f:
            mod, _, rest = line.partition(":")
            deps[mod.strip()] = rest.split()
    todo = [m for m in deps
            if any(re.search(p, os.path.basename(m)) for p in patterns)]
    seen = set()
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(deps.get(m, []))
    return sorted(seen)


# ---------------------------------------------------------------- cpio


class Cpio:
    """Writes a cpio "newc" archive (the initramfs format). Every entry is
    owned by root: keepalived's enable_script_security checks ownership."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.ino = 1
        self.names = set()

    def _entry(self, name, mode, data=b""):
        name = name.lstrip("/")
        if name in self.names:
            return
        self.names.add(name)
        nameb = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0,
                  len(nameb), 0]
        self.ino += 1
        hdr = b"070701" + b"".join(b"%08x" % v for v in fields)
        self.buf.write(hdr + nameb)
        self._pad()
        self.buf.write(data)
        self._pad()

    def _pad(self):
        self.buf.write(b"\0" * (-self.buf.tell() % 4))

    def dir(self, name, mode=0o755):
        parts = name.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            self._entry("/".join(parts[:i]), stat.S_IFDIR | mode)

    def _parent(self, name):
        parent = os.path.dirname(name.strip("/"))
        if parent:
            self.dir(parent)

    def file(self, name, data, mode=0o644):
        if isinstance(data, str):
            data = data.encode()
        self._parent(name)
        self._entry(name, stat.S_IFREG | mode, data)

    def copy(self, src, name=None, mode=None):
        with open(src, "rb") as f:
            data = f.read()
        if mode is None:
            mode = stat.S_IMODE(os.stat(src).st_mode)
        self.file(name or src, data, mode)

    def symlink(self, name, target):
        self._parent(name)
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def finish_gz(self):
        self._entry("TRAILER!!!", 0)
        return gzip.compress(self.buf.getvalue(), compresslevel=1)


def _shared_libs(path):
    """The shared libraries ldd lists for path, and the dynamic loader, as
    (path as the loader looks for it, real file) pairs; [] for a static
    file."""
    r = subprocess.run(["ldd", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        return []  # "not a dynamic executable"
    libs = []
    for line in r.stdout.splitlines():
        m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if m:
            libs.append((m.group(1), os.path.realpath(m.group(1))))
    return libs


def _add_program(cpio, src, dest=None):
    cpio.copy(os.path.realpath(src), dest or src, 0o755)
    for wanted, real in _shared_libs(src):
        cpio.copy(real, wanted, 0o755)


def _perl_closure(script):
    """The Perl modules and XS libraries a Perl program loads while it
    compiles, found by compiling it on this host with a CHECK block that
    lists %INC."""
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "MppIncDump.pm"), "w") as f:
            f.write("package MppIncDump;\n"
                    "CHECK { print STDERR \"INC $_\\n\" for values %INC;\n"
                    "  print STDERR \"SO $_\\n\" for @DynaLoader::dl_shared_objects }\n"
                    "1;\n")
        r = subprocess.run(["perl", "-I" + tmp, "-MMppIncDump", "-c", script],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    files = set()
    for line in r.stderr.splitlines():
        kind, _, path = line.partition(" ")
        if kind in ("INC", "SO") and path.startswith("/") and \
                "MppIncDump" not in path:
            files.add(path)
    if not files:
        raise GuestError("could not list the Perl modules of %s: %s"
                         % (script, r.stderr[-500:]))
    return sorted(files)


def _add_perl(cpio, scripts):
    _add_program(cpio, "/usr/bin/perl")
    for d in PERL_LIB_DIRS:
        for dirpath, _, files in os.walk(d):
            for f in files:
                p = os.path.join(dirpath, f)
                cpio.copy(p)
    for script in scripts:
        for f in _perl_closure(script):
            cpio.copy(f)
            for wanted, real in _shared_libs(f) if f.endswith(".so") else []:
                cpio.copy(real, wanted, 0o755)
        cpio.copy(script, script, 0o755)


INIT = r"""#!/bin/busybox sh
# Guest init: mounts, loopback with the documentation range, IPVS, then the
# test script; always powers off so qemu exits.
/bin/busybox --install -s /bin
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
mkdir -p /tmp /run /var/run /var/log /dev/shm
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mount -t tmpfs shm /dev/shm
chmod 1777 /tmp
ln -sf /bin/busybox /sbin/modprobe
hostname guest
ip link set lo up
ip route add 192.0.2.0/24 dev lo
modprobe ip_vs || echo "MPP-GUEST-ERROR modprobe ip_vs failed"
# Whether the kernel's random pool is ready before the test: a program
# asking for random bytes before then waits (see Guest.run).
dmesg | grep -q "crng init done" && echo "MPP-GUEST-RANDOM ready" || echo "MPP-GUEST-RANDOM not ready"
echo "MPP-GUEST-READY $(cut -d' ' -f1 /proc/uptime)"
if [ -x /test/run ]; then
  /test/run
  echo "MPP-GUEST-EXIT $?"
else
  echo "MPP-GUEST-ERROR no /test/run"
fi
echo "MPP-GUEST-DONE $(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
"""

# Helpers for guest scripts: . /test/lib.sh
GUEST_LIB = r"""
# Prints one result line; the harness parses it.
result() {  # name PASS|FAIL detail...
  n=$1; v=$2; shift 2
  echo "RESULT $n $v $*"
}

# The weight of real server rip in virtual server vip ("tcp" or "fwm"), or
# "absent", from ipvsadm -Ln.
ipvs_weight() {  # vip rip [kind]
  ipvsadm -Ln | awk -v vip="$1" -v rip="$2" '
    /^(TCP|UDP|FWM)/ { cur = $2 }
    cur == vip && $1 == "->" && $2 == rip { w = $4 }
    END { print (w == "" ? "absent" : w) }'
}

# Writes a file the way MPP does: temp file in the same directory, rename.
put() {  # path content
  mkdir -p "$(dirname "$1")"
  printf '%s\n' "$2" > "$1.tmp" && mv -f "$1.tmp" "$1"
}

# Marks the moment a step changed something; waits measure from here.
step_start() {
  STEP_T0=$(now_ms)
}

# Waits up to timeout whole seconds for a weight; prints the last seen value
# and the time since step_start (or since the call) in ms; returns 0 when it
# matched.
wait_weight() {  # vip rip want timeout
  start=${STEP_T0:-$(now_ms)}; deadline=$(($(now_ms) + $4 * 1000))
  while :; do
    got=$(ipvs_weight "$1" "$2")
    t=$(now_ms)
    if [ "$got" = "$3" ]; then echo "$got $((t - start))ms"; return 0; fi
    if [ "$t" -ge "$deadline" ]; then echo "$got $((t - start))ms"; return 1; fi
    usleep 50000
  done
}

now_ms() {
  awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# One test case: check_weight name vip rip want timeout
check_weight() {
  if out=$(wait_weight "$2" "$3" "$4" "$5"); then
    result "$1" PASS "weight $out"
  else
    result "$1" FAIL "want $4, have $out"; ipvsadm -Ln; return 1
  fi
}
"""


# ---------------------------------------------------------------- guest


class Result:
    def __init__(self, name, ok, detail):
        self.name, self.ok, self.detail = name, ok, detail


class Run:
    """What one boot produced."""

    def __init__(self, console, elapsed, timed_out):
        self.console = console
        self.elapsed = elapsed          # qemu start to exit, seconds
        self.timed_out = timed_out
        self.results = []
        self.boot = None                # guest uptime when the test started
        self.random_ready = False       # the kernel's random pool was ready by then
        self.guest_done = None          # guest uptime when the test ended
        self.exit_code = None
        for line in console.splitlines():
            line = line.strip()
            m = re.search(r"RESULT (\S+) (PASS|FAIL)\s*(.*)$", line)
            if m:
                self.results.append(Result(m.group(1), m.group(2) == "PASS",
                                           m.group(3)))
            if "MPP-GUEST-RANDOM ready" in line:
                self.random_ready = True
            m = re.search(r"MPP-GUEST-READY ([\d.]+)", line)
            if m:
                self.boot = float(m.group(1))
            m = re.search(r"MPP-GUEST-DONE ([\d.]+)", line)
            if m:
                self.guest_done = float(m.group(1))
            m = re.search(r"MPP-GUEST-EXIT (\d+)", line)
            if m:
                self.exit_code = int(m.group(1))

    @property
    def completed(self):
        return self.guest_done is not None and not self.timed_out


class Guest:
    """A guest definition.

    base_programs: host programs that rarely change (keepalived, ipvsadm),
      cached in the base archive with their libraries.
    perl_scripts: Perl programs (ldirectord) to run in the guest: perl, the
      modules they load, and the scripts themselves go into the base.
    programs: programs that change per build (the project's binaries), as
      paths or (host path, guest path) pairs; added to the per-run archive.
    files: {guest path: bytes or str}, or {guest path: (data, mode)}.
    users: extra (name, uid) entries for /etc/passwd and /etc/group.
    modules: regular expressions of kernel module file names this guest
      needs besides MODULE_PATTERNS (e.g. r"^veth\.ko$"); with their
      dependencies they go into the base archive.
    """

    def __init__(self, base_programs=(), perl_scripts=(), programs=(),
                 files=None, users=(("keepalived_script", 998),),
                 modules=()):
        self.base_programs = list(base_programs)
        self.extra_modules = list(modules)
        self.module_patterns = MODULE_PATTERNS + self.extra_modules
        self.perl_scripts = list(perl_scripts)
        self.programs = list(programs)
        self.files = dict(files or {})
        self.users = list(users)
        self.kernel = None

    def _base_key(self, modules):
        h = hashlib.sha256()
        h.update(BASE_FORMAT.encode() + INIT.encode() + GUEST_LIB.encode())
        h.update(self.kernel.release.encode())
        for m in modules:
            h.update(m.encode())
        # Empty for the guests without extra modules: their key is as before.
        for p in self.extra_modules:
            h.update(("module pattern %s\n" % p).encode())
        for p in [BUSYBOX, "/usr/bin/perl"] + self.base_programs + \
                self.perl_scripts + PERL_LIB_DIRS:
            st = os.stat(p)
            h.update(("%s %d %d\n" % (p, st.st_size, st.st_mtime_ns)).encode())
        h.update(repr(self.users).encode())
        return h.hexdigest()[:16]

    def _base(self):
        modules = _module_closure(self.kernel, self.module_patterns)
        path = os.path.join(self.kernel.root,
                            "base-%s.cpio.gz" % self._base_key(modules))
        with _Lock(os.path.join(CACHE_ROOT, ".lock")):
            if os.path.exists(path):
                return path
            t0 = time.monotonic()
            c = Cpio()
            for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "dev",
                      "proc", "sys", "tmp", "run", "var/run", "root"):
                c.dir(d)
            c.copy(BUSYBOX, "bin/busybox", 0o755)
            c.file("init", INIT, 0o755)
            c.file("test/lib.sh", GUEST_LIB, 0o644)
            passwd = "root:x:0:0:root:/root:/bin/sh\n"
            group = "root:x:0:\n"
            for name, uid in self.users:
                passwd += "%s:x:%d:%d::/nonexistent:/bin/false\n" % (
                    name, uid, uid)
                group += "%s:x:%d:\n" % (name, uid)
            c.file("etc/passwd", passwd)
            c.file("etc/group", group)
            c.file("etc/nsswitch.conf", "passwd: files\ngroup: files\n"
                   "hosts: files\n")
            c.file("etc/hosts", "127.0.0.1 localhost guest\n")
            moddir = "lib/modules/" + self.kernel.release
            for m in modules:
                c.copy(os.path.join(self.kernel.moddir, m), moddir + "/" + m)
            for f in os.listdir(self.kernel.moddir):
                if f.startswith("modules."):
                    c.copy(os.path.join(self.kernel.moddir, f),
                           moddir + "/" + f)
            for p in self.base_programs:
                _add_program(c, p)
            if self.perl_scripts:
                _add_perl(c, self.perl_scripts)
            data = c.finish_gz()
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, path)
            log("built base initramfs %s (%d modules, %.1f MB, %.1fs)" % (
                os.path.basename(path), len(modules), len(data) / 1e6,
                time.monotonic() - t0))
            return path

    def _overlay(self, script):
        c = Cpio()
        for p in self.programs:
            src, dest = p if isinstance(p, tuple) else (p, None)
            if dest is None:
                dest = "/usr/sbin/" + os.path.basename(src)
            _add_program(c, src, dest)
        for name, data in sorted(self.files.items()):
            mode = 0o644
            if isinstance(data, tuple):
                data, mode = data
            c.file(name, data, mode)
        c.file("test/run", script, 0o755)
        return c.finish_gz()

    def run(self, script, timeout=120, memory=1024):
        """Boots the guest, runs script (busybox sh text, becomes /test/run)
        and returns a Run. Raises GuestError only for harness failures;
        test failures are in Run.results."""
        if self.kernel is None:
            self.kernel = ensure_kernel()
        base = self._base()
        with tempfile.TemporaryDirectory(prefix="mpp-guest-") as tmp:
            initrd = os.path.join(tmp, "initrd.gz")
            with open(initrd, "wb") as out:
                with open(base, "rb") as f:
                    shutil.copyfileobj(f, out)
                out.write(self._overlay(script))
            # The emulated CPU has RDRAND, which the kernel trusts: its
            # random pool is ready at boot. Without it, the first program
            # that asks for random bytes (perl, at start: ldirectord) waits
            # for the pool to fill from timing jitter, which in emulation
            # took from 1 s to over 150 s depending on the host's load.
            argv = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "qemu64,+rdrand", "-m", str(memory),
                    "-nographic", "-nic", "none", "-no-reboot",
                    "-kernel", self.kernel.vmlinuz, "-initrd", initrd,
                    "-append", "console=ttyS0 quiet panic=-1"]
            t0 = time.monotonic()
            timed_out = False
            with open(os.path.join(tmp, "console"), "w+b") as con:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                        stdout=con, stderr=subprocess.STDOUT,
                                        start_new_session=True)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    timed_out = True
                    proc.kill()
                    proc.wait()
                elapsed = time.monotonic() - t0
                con.seek(0)
                console = con.read().decode("utf-8", "replace")
        console = console.replace("\r", "")
        return Run(console, elapsed, timed_out)


def main(argv):
    """Smoke test: python3 guest.py [program...] boots a guest, checks that
    IPVS answers, and prints the timings."""
    g = Guest(base_programs=["/usr/sbin/ipvsadm"] + argv[1:])
    script = """#!/bin/sh
. /test/lib.sh
ipvsadm -A -t 192.0.2.10:3306 -s rr
ipvsadm -a -t 192.0.2.10:3306 -r 192.0.2.11:3306 -m -w 7
w=$(ipvs_weight 192.0.2.10:3306 192.0.2.11:3306)
[ "$w" = 7 ] && result ipvs-smoke PASS "weight $w" || result ipvs-smoke FAIL "weight $w"
"""
    r = g.run(script)
    sys.stdout.write(r.console)
    print("boot %.2fs (guest uptime at test start), qemu run %.2fs" % (
        r.boot or -1, r.elapsed))
    ok = r.completed and r.results and all(x.ok for x in r.results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
