"""eda.py: not yet available (issue #5)."""

from utils.cli import not_yet_available

if __name__ == "__main__":
    not_yet_available("eda.py", "issue #5")
