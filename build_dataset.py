"""build_dataset.py: not yet available (issue #3)."""

from utils.cli import not_yet_available

if __name__ == "__main__":
    not_yet_available("build_dataset.py", "issue #3")
