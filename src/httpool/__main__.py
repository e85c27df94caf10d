"""``python -m httpool``: the command line, in httpool.bench.cli."""

import os
import sys


def _run() -> int:
    try:
        from httpool.bench.cli import main
    except KeyboardInterrupt:  # Ctrl-C before main() can handle it
        print("python -m httpool: interrupted", file=sys.stderr)
        return 130
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # `... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    return code


if __name__ == "__main__":
    sys.exit(_run())
