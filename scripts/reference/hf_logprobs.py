"""Reference log-probabilities from Hugging Face transformers (fp32; bf16/fp16 with --dtype) for the ts backend's
replay test, and bf16 runs as the second reference of the CUDA backend (bench/native/dtype-check.ts).

For every model in inputs.json (made by make-test-model, see make-models.ts) and every prompt, runs a greedy
continuation with the KV cache and records the top-k log-probabilities and token ids at every step. Writes
<arch>.json files into OUT_DIR. Cross-checks on the way: no missing/unexpected weights, cached decoding equals a
full recompute, and CPU agrees with the GPU (fp32 only: the CPU check is skipped for --dtype bfloat16/float16,
where it would compare two different roundings).

usage: python3 hf_logprobs.py INPUTS_JSON MODELS_DIR OUT_DIR [--dtype float32|bfloat16|float16]
"""
import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def load(path, device, dtype=torch.float32):
    model, info = AutoModelForCausalLM.from_pretrained(
        path, dtype=dtype, attn_implementation="eager", output_loading_info=True
    )
    missing = [k for k in info.get("missing_keys", []) if k != "lm_head.weight"]
    unexpected = list(info.get("unexpected_keys", []))
    if missing or unexpected:
        raise SystemExit(f"{path}: missing weights {missing}, unexpected weights {unexpected}")
    return model.to(device).eval()


@torch.no_grad()
def greedy(model, prompt_ids, steps, top_k, device):
    ids = torch.tensor([prompt_ids], device=device)
    out = model(input_ids=ids, use_cache=True)
    generated, top_ids, top_lps, gaps, step_logprobs = [], [], [], [], []
    for _ in range(steps):
        logits = out.logits[0, -1].to(torch.float64)
        lp = torch.log_softmax(logits, dim=-1)
        top = torch.topk(lp, top_k)
        nxt = int(top.indices[0])
        generated.append(nxt)
        top_ids.append([int(i) for i in top.indices])
        top_lps.append([float(v) for v in top.values])
        gaps.append(float(top.values[0] - top.values[1]))
        step_logprobs.append(lp)
        out = model(input_ids=torch.tensor([[nxt]], device=device), past_key_values=out.past_key_values, use_cache=True)
    return generated, top_ids, top_lps, gaps, torch.stack(step_logprobs)


@torch.no_grad()
def full_recompute_logprobs(model, prompt_ids, generated, device):
    seq = torch.tensor([prompt_ids + generated[:-1]], device=device)
    logits = model(input_ids=seq, use_cache=False).logits[0, len(prompt_ids) - 1 :].to(torch.float64)
    return torch.log_softmax(logits, dim=-1)


def main():
    inputs_path, models_dir, out_dir = sys.argv[1:4]
    dtype_name = "float32"
    if len(sys.argv) > 4:
        if len(sys.argv) != 6 or sys.argv[4] != "--dtype" or sys.argv[5] not in DTYPES:
            raise SystemExit(f"usage: hf_logprobs.py INPUTS_JSON MODELS_DIR OUT_DIR [--dtype {'|'.join(DTYPES)}]")
        dtype_name = sys.argv[5]
    dtype = DTYPES[dtype_name]
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    inputs = json.load(open(inputs_path))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    card = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    os.makedirs(out_dir, exist_ok=True)
    for spec in inputs["models"]:
        arch = spec["arch"]
        path = os.path.join(models_dir, arch)
        model = load(path, device, dtype)
        cpu_model = load(path, "cpu") if dtype_name == "float32" else None
        print(f"{arch}: {type(model).__name__} rope {getattr(model.config, 'rope_parameters', None)}", flush=True)
        results = []
        for prompt in inputs["prompts"]:
            gen, top_ids, top_lps, gaps, lps = greedy(model, prompt["tokenIds"], inputs["steps"], inputs["topK"], device)
            recompute = full_recompute_logprobs(model, prompt["tokenIds"], gen, device)
            cache_diff = float((recompute - lps).abs().max())
            cpu_gen, cpu_diff = None, None
            if cpu_model is not None:
                cpu_gen, _, _, _, cpu_lps = greedy(cpu_model, prompt["tokenIds"], inputs["steps"], inputs["topK"], "cpu")
                cpu_diff = float((cpu_lps - lps.cpu()).abs().max())
            print(f"  {prompt['name']}: cache-vs-recompute {cache_diff:.2e}, cpu-vs-{device} {cpu_diff}, "
                  f"cpu tokens equal {cpu_gen == gen if cpu_gen is not None else None}, "
                  f"min top1-top2 gap {min(gaps):.4f}", flush=True)
            results.append({
                "name": prompt["name"],
                "tokenIds": prompt["tokenIds"],
                "generated": gen,
                "topIds": top_ids,
                "topLogprobs": [[round(v, 7) for v in row] for row in top_lps],
                "checks": {"cacheVsRecomputeMaxDiff": cache_diff, "cpuVsDeviceMaxDiff": cpu_diff,
                           "cpuTokensEqual": cpu_gen == gen if cpu_gen is not None else None},
            })
        record = {
            "arch": arch,
            "model": spec,
            "producedBy": "scripts/reference/hf_logprobs.py",
            "card": card,
            "device": device,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "dtype": dtype_name,
            "attention": "eager",
            "steps": inputs["steps"],
            "topK": inputs["topK"],
            "prompts": results,
        }
        with open(os.path.join(out_dir, f"{arch}.json"), "w") as f:
            json.dump(record, f, indent=None, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()
