"""Checks that transformers loads make-test-model's sharded output (index + shards) to the same logits as the
single-file model of the same seed. Prints the result; used once when the shard writer changed.

usage: python3 hf_check_sharded.py SINGLE_DIR SHARDED_DIR
"""
import sys

import torch
from transformers import AutoModelForCausalLM


def main():
    single_dir, sharded_dir = sys.argv[1:3]
    ids = torch.tensor([[14880, 11622, 105321, 100157, 3837, 1773]])
    a = AutoModelForCausalLM.from_pretrained(single_dir, dtype=torch.float32)
    b, info = AutoModelForCausalLM.from_pretrained(sharded_dir, dtype=torch.float32, output_loading_info=True)
    with torch.no_grad():
        diff = float((a(input_ids=ids).logits - b(input_ids=ids).logits).abs().max())
    print(f"sharded vs single: max logit difference {diff}, loading info {info}")
    if diff != 0.0 or info.get("missing_keys") or info.get("unexpected_keys"):
        raise SystemExit("sharded checkpoint differs")


if __name__ == "__main__":
    main()
