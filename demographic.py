"""demographic.py: not yet available (issue #2)."""

from utils.cli import not_yet_available

if __name__ == "__main__":
    not_yet_available("demographic.py", "issue #2")
