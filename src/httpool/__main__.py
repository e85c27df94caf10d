"""``python -m httpool``: the command line, in httpool.bench.cli."""

import sys

if __name__ == "__main__":
    try:
        from httpool.bench.cli import main
    except KeyboardInterrupt:  # Ctrl-C before main() can handle it
        print("python -m httpool: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())
