"""Kernel test scenarios as data: a daemon to start in the guest, then steps
that change what the daemon's checks see and the IPVS weights each step must
produce. A scenario turns into one guest script, so one boot runs all its
steps.

Today a step writes files by hand (track files, check exit codes). Once the
project's state writer and mpp-check are in the guest, a step can instead run
a command (the writer tool with a state to write): Step.commands.
"""

import shlex

ABSENT = "absent"


class Step:
    """One change and its expected outcome.

    writes:   {guest path: content, or None to delete}, applied atomically
              (temp file + rename) in order.
    commands: argv lists run in the guest after the writes.
    expect:   [(vip, rip, weight or ABSENT)]; every one is a test case named
              "<scenario>/<step>/<vip>/<rip>".
    timeout:  seconds each expectation may take to come true.
    """

    def __init__(self, name, writes=None, commands=(), expect=(), timeout=10):
        self.name = name
        self.writes = list((writes or {}).items())
        self.commands = list(commands)
        self.expect = list(expect)
        self.timeout = timeout


class Scenario:
    """daemon: argv of the daemon under test, started in the background
    after the setup writes; its output goes to log (dumped on failure)."""

    def __init__(self, name, daemon, setup=None, steps=(), log=None,
                 settle=0):
        self.name = name
        self.daemon = list(daemon)
        self.setup = Step("setup", writes=setup)
        self.steps = list(steps)
        self.log = log or "/tmp/%s.log" % name
        self.settle = settle  # seconds to let the daemon start

    def guest_script(self):
        q = shlex.quote
        out = ["#!/bin/sh", ". /test/lib.sh", "FAILED=0"]

        def emit_writes(step):
            for path, content in step.writes:
                if content is None:
                    out.append("rm -f %s" % q(path))
                else:
                    out.append("put %s %s" % (q(path), q(str(content))))
            for argv in step.commands:
                out.append(" ".join(q(a) for a in argv))

        emit_writes(self.setup)
        out.append("echo \"STEP %s start $(now_ms)\"" % self.name)
        out.append("%s >%s 2>&1 &" % (" ".join(q(a) for a in self.daemon),
                                      q(self.log)))
        out.append("DAEMON=$!")
        if self.settle:
            out.append("sleep %s" % self.settle)
        for step in self.steps:
            out.append("step_start")
            emit_writes(step)
            for vip, rip, want in step.expect:
                vs = vip if ":" in vip else "fwm" + vip
                name = "%s/%s/%s/%s" % (self.name, step.name, vs, rip)
                out.append("check_weight %s %s %s %s %s || FAILED=1" % (
                    q(name), q(vip), q(rip), q(str(want)), step.timeout))
        out.append("kill $DAEMON 2>/dev/null")
        out.append("if [ $FAILED != 0 ]; then echo '--- %s'; tail -n 60 %s;"
                   " fi" % (self.log, q(self.log)))
        return "\n".join(out) + "\n"
