"""Runs the replay tool and reads what it printed with the reference decoder: shared by the
replay tests (standard library only)."""

import json
import subprocess


def replay_records(replay, decode, arguments):
    """Runs `replay` with `arguments`, decodes its messages with `decode --replay`, and
    returns every JSON line the decoder printed, parsed. Raises RuntimeError with the tool's
    own error text when either fails."""
    command = [replay] + list(arguments)
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(command), result.returncode, result.stderr.strip()))
    decoded = subprocess.run([decode, "--replay", "--format", "json"], input=result.stdout, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, check=False)
    if decoded.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (decode, decoded.returncode, decoded.stderr.strip()))
    return [json.loads(line) for line in decoded.stdout.splitlines()]
