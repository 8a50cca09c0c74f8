"""synthesize.py: not yet available (issue #7)."""

from utils.cli import not_yet_available

if __name__ == "__main__":
    not_yet_available("synthesize.py", "issue #7")
