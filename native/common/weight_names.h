// Hugging Face tensor names of the decoder-only architectures served (Qwen2/Qwen3/Llama/Mistral share them).
#pragma once
#include <string>

namespace serval {
namespace names {

inline std::string layer(int i, const char* suffix) { return "model.layers." + std::to_string(i) + "." + suffix; }
inline const char* embed() { return "model.embed_tokens.weight"; }
inline const char* finalNorm() { return "model.norm.weight"; }
inline const char* lmHead() { return "lm_head.weight"; }

}  // namespace names
}  // namespace serval
