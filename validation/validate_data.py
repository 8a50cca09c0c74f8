"""validate_data.py: not yet available (issue #4)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.cli import not_yet_available

if __name__ == "__main__":
    not_yet_available("validate_data.py", "issue #4")
