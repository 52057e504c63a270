"""Kernel test scenarios as data: a daemon to start in the guest, then steps
that change what the daemon's checks read (state file, track files) and the
IPVS weights each step must produce. A scenario turns into one guest
script, so one boot runs all its steps.
"""

import shlex

ABSENT = "absent"


class Step:
    """One change and its expected outcome.

    writes:   {guest path: content, or None to delete}, applied atomically
              (temp file + rename) in order.
    commands: shell lines run in the guest after the writes (e.g. the
              state writer).
    expect:   [(vip, rip, weight or ABSENT)]; every one is a test case named
              "<scenario>/<step>/<vs>/<rip>". The time a case prints is
              measured from the end of the step's writes and commands.
    timeout:  seconds each expectation may take to come true.
    stays_ms: instead of waiting for the expectations, wait this long and
              then require them (nothing may have changed them).
    delay_ms: pause before the change, so that latency samples fall at
              different points of the daemon's check cycle.
    measure:  the step is a latency sample (see Scenario.latencies).
    """

    def __init__(self, name, writes=None, commands=(), expect=(), timeout=10,
                 stays_ms=0, delay_ms=0, measure=False):
        self.name = name
        self.writes = list((writes or {}).items())
        self.commands = list(commands)
        self.expect = list(expect)
        self.timeout = timeout
        self.stays_ms = stays_ms
        self.delay_ms = delay_ms
        self.measure = measure


def case_name(scenario, step, vip, rip):
    vs = vip if ":" in vip else "fwm" + vip
    return "%s/%s/%s/%s" % (scenario, step, vs, rip)


class Scenario:
    """daemon: argv of the daemon under test, started in the background
    after the setup; its output goes to log (dumped on failure).
    prelude: shell text run first (helpers, directories)."""

    def __init__(self, name, daemon, setup=None, steps=(), log=None,
                 prelude="", setup_commands=()):
        self.name = name
        self.daemon = list(daemon)
        self.setup = Step("setup", writes=setup, commands=setup_commands)
        self.steps = list(steps)
        self.log = log or "/tmp/%s.log" % name
        self.prelude = prelude

    def case_count(self):
        return sum(len(s.expect) for s in self.steps)

    def latency_cases(self):
        """Names of the cases whose times are latency samples."""
        return [case_name(self.name, s.name, v, r)
                for s in self.steps if s.measure for v, r, _ in s.expect]

    def guest_script(self):
        q = shlex.quote
        out = ["#!/bin/sh", ". /test/lib.sh", "FAILED=0", self.prelude]

        def emit_change(step):
            if step.delay_ms:
                out.append("usleep %d" % (step.delay_ms * 1000))
            for path, content in step.writes:
                if content is None:
                    out.append("rm -f %s" % q(path))
                else:
                    out.append("put %s %s" % (q(path), q(str(content))))
            out.extend(step.commands)

        emit_change(self.setup)
        out.append("%s >%s 2>&1 &" % (" ".join(q(a) for a in self.daemon),
                                      q(self.log)))
        out.append("DAEMON=$!")
        for step in self.steps:
            emit_change(step)
            out.append("step_start")
            if step.stays_ms:
                out.append("usleep %d" % (step.stays_ms * 1000))
            timeout = 0 if step.stays_ms else step.timeout
            for vip, rip, want in step.expect:
                name = case_name(self.name, step.name, vip, rip)
                out.append("check_weight %s %s %s %s %s || FAILED=1" % (
                    q(name), q(vip), q(rip), q(str(want)), timeout))
        out.append("kill $DAEMON 2>/dev/null")
        out.append("if [ $FAILED != 0 ]; then echo '--- %s'; tail -n 60 %s;"
                   " fi" % (self.log, q(self.log)))
        return "\n".join(out) + "\n"
