# Side-by-side peer (issue 6, speed item 4): HF transformers `generate` on the same card and model shapes as serval's
# throughput run — random init in bf16 (the config.json that bench/gpu/dummy-model-dir.ts wrote), prompts of 512
# tokens with the first 300 shared, 128 new tokens forced (min_new_tokens), greedy, one batch per measurement.
# Usage: python3 hf_generate.py OUT.json MODEL_DIR [MODEL_DIR ...]
import json, os, sys, time
import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

PROMPT, SHARED, NEW = 512, 300, 128
out_path, dirs = sys.argv[1], sys.argv[2:]
batches = [int(b) for b in os.environ.get("HF_BATCHES", "64,256").split(",")]
results = {"card": torch.cuda.get_device_name(0), "torch": torch.__version__, "transformers": transformers.__version__,
           "prompt_len": PROMPT, "shared_prefix_len": SHARED, "new_tokens": NEW, "runs": []}

def save():
    with open(out_path, "w") as f:
        json.dump(results, f, indent=2)

for d in dirs:
    cfg = AutoConfig.from_pretrained(d)
    torch.manual_seed(0)
    t0 = time.time()
    with torch.device("cuda"):
        try:
            model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
        except TypeError:  # transformers before `dtype` replaced `torch_dtype`
            model = AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.bfloat16)
    model.eval()
    init_s = time.time() - t0
    shape = os.path.basename(d.rstrip("/")).replace("serval-dummy-", "")
    for batch in batches:
        g = torch.Generator(device="cpu").manual_seed(1)
        shared = torch.randint(0, 151000, (1, SHARED), generator=g).expand(batch, SHARED)
        ids = torch.cat([shared, torch.randint(0, 151000, (batch, PROMPT - SHARED), generator=g)], dim=1).cuda()
        mask = torch.ones_like(ids)
        kw = dict(attention_mask=mask, do_sample=False, pad_token_id=0)
        try:
            with torch.inference_mode():
                model.generate(ids[:, :64], max_new_tokens=4, min_new_tokens=4, **kw)  # warm-up
                torch.cuda.synchronize()
                t = time.time()
                out = model.generate(ids, max_new_tokens=NEW, min_new_tokens=NEW, **kw)
                torch.cuda.synchronize()
                el = time.time() - t
            gen = (out.shape[1] - PROMPT) * batch
            r = {"shape": shape, "batch": batch, "seconds": el, "output_tokens": gen, "output_tokens_per_second": gen / el,
                 "init_seconds": init_s, "peak_gib": torch.cuda.max_memory_allocated() / 2**30}
        except Exception as e:  # an OOM at a large batch is a result too
            r = {"shape": shape, "batch": batch, "error": repr(e)[:500]}
        print(json.dumps(r), flush=True)
        results["runs"].append(r)
        save()
        torch.cuda.empty_cache()
    del model
    torch.cuda.empty_cache()
save()
