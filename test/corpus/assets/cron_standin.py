"""A cron stand-in: the daemon forks, and the child runs a crontab line through /bin/sh -c with its
output mailed (here: appended to a log), as cron runs a nightly checkpoint sync."""
import os
import sys

line = sys.argv[1]
pid = os.fork()
if pid == 0:
    os.setsid()
    log = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.execv("/bin/sh", ["/bin/sh", "-c", line])
os.waitpid(pid, 0)
