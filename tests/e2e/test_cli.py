"""The cwagent command line: version, help, unknown commands and their exit codes."""
import re

import cwtest
from cwtest import check, eq, run_agent


def test_version_prints_semver():
    r = run_agent("version")
    eq(r.returncode, 0, "exit status")
    check(re.fullmatch(r"cwagent \d+\.\d+\.\d+\n", r.stdout), "unexpected output %r" % r.stdout)
    eq(run_agent("--version").stdout, r.stdout, "--version output")


def test_help_lists_commands_on_stdout():
    r = run_agent("--help")
    eq(r.returncode, 0, "exit status")
    check("usage: cwagent" in r.stdout and "version" in r.stdout, r.stdout)


def test_no_command_is_a_usage_error():
    r = run_agent()
    eq(r.returncode, 2, "exit status")
    check("usage: cwagent" in r.stderr, r.stderr)


def test_unknown_command_is_a_usage_error():
    r = run_agent("frobnicate")
    eq(r.returncode, 2, "exit status")
    check("unknown command 'frobnicate'" in r.stderr, r.stderr)


cwtest.main(globals())
