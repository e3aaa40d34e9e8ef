"""A separate process converting a checkpoint: waits until `go` exists, converts, prints the stages.

python convert_worker.py SRC DST TOWER READY GO
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import rap_desktop.torch_compat  # noqa: F401  (before anything imports torchvision)
from rap_desktop.core.models import convert

src, dst, tower, ready, go = (Path(a) for a in sys.argv[1:6])
import transformers  # noqa: E402,F401  (imports done before the start signal: the two really overlap)
from transformers import LlavaForConditionalGeneration  # noqa: E402,F401

ready.touch()
while not go.exists():
    time.sleep(0.01)
stages: list[str] = []
out = convert.convert_checkpoint(src, dst, tower, "vicuna_v1", lambda message, _fraction: stages.append(message))
print(json.dumps({"path": str(out), "stages": stages}))
