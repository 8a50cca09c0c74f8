"""transaction.py: not yet available (issue #3)."""

from utils.cli import not_yet_available

if __name__ == "__main__":
    not_yet_available("transaction.py", "issue #3")
