"""RoPE tables from transformers for the reference test models, replayed by test/runner-ts/rope.test.ts.

The greedy replay only reaches positions below ~60, where Llama 3's frequency rescaling barely moves the logits;
this records transformers' inverse frequencies and cos/sin at far positions (up to 131071) so the rescaling and the
default RoPE are checked where they matter.

usage: python3 hf_rope.py MODELS_DIR OUT_JSON   (MODELS_DIR holds llama/ and qwen3/ from make-models.ts)
"""
import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM

POSITIONS = [0, 1, 7, 100, 2047, 5000, 8191, 20000, 131071]


def main():
    models_dir, out_path = sys.argv[1:3]
    record = {"producedBy": "scripts/reference/hf_rope.py", "positions": POSITIONS, "models": {}}
    for arch in ["llama", "qwen3"]:
        model = AutoModelForCausalLM.from_pretrained(os.path.join(models_dir, arch), dtype=torch.float32)
        rotary = model.model.rotary_emb
        pos = torch.tensor([POSITIONS])
        x = torch.zeros(1, dtype=torch.float32)
        cos, sin = rotary(x, pos)
        half = cos.shape[-1] // 2
        record["models"][arch] = {
            "ropeParameters": getattr(model.config, "rope_parameters", None),
            "invFreq": [float(v) for v in rotary.inv_freq],
            # cos/sin repeat their first half (rotate_half layout); the first half is enough.
            "cos": [[float(v) for v in row[:half]] for row in cos[0]],
            "sin": [[float(v) for v in row[:half]] for row in sin[0]],
        }
        print(arch, "inv_freq", [f"{float(v):.3e}" for v in rotary.inv_freq], flush=True)
    with open(out_path, "w") as f:
        json.dump(record, f)
        f.write("\n")


if __name__ == "__main__":
    main()
