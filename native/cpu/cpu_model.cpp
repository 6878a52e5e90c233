#include "cpu/cpu_model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "common/weight_names.h"

namespace serval {

static std::vector<float> loadVector(const WeightStore& s, const std::string& name, int64_t n) {
  const TensorView& t = s.get(name, {n});
  std::vector<float> out(n);
  toFloat(t.data, t.dtype, out.data(), n);
  return out;
}

static LinearWeight loadLinear(const WeightStore& s, const std::string& base, int64_t out, int64_t in, bool bias) {
  const TensorView& t = s.get(base + ".weight", {out, in});
  LinearWeight w;
  w.data = t.data;
  w.dtype = t.dtype;
  w.outFeatures = static_cast<int>(out);
  w.inFeatures = static_cast<int>(in);
  if (bias) w.bias = loadVector(s, base + ".bias", out);
  return w;
}

CpuModel::CpuModel(const ModelSpec& spec, const std::vector<TensorRef>& tensors, int numBlocks, int blockSize,
                   int numThreads)
    : spec_(spec), store_(tensors), pool_(numThreads), numBlocks_(numBlocks), blockSize_(blockSize) {
  spec_.validate();
  if (numBlocks <= 0 || blockSize <= 0) throw std::invalid_argument("numBlocks and blockSize must be > 0");
  const int64_t H = spec.hiddenSize, I = spec.intermediateSize, hd = spec.headDim;
  const int64_t qDim = spec.numHeads * hd, kvDim = spec.numKvHeads * hd;
  embed_ = store_.get(names::embed(), {spec.vocabSize, H});
  finalNorm_ = loadVector(store_, names::finalNorm(), H);
  if (spec.tieWordEmbeddings) {
    lmHead_.data = embed_.data;
    lmHead_.dtype = embed_.dtype;
    lmHead_.outFeatures = spec.vocabSize;
    lmHead_.inFeatures = static_cast<int>(H);
  } else {
    lmHead_ = loadLinear(store_, "lm_head", spec.vocabSize, H, false);
  }
  for (int i = 0; i < spec.numLayers; ++i) {
    Layer L;
    L.inputNorm = loadVector(store_, names::layer(i, "input_layernorm.weight"), H);
    L.postNorm = loadVector(store_, names::layer(i, "post_attention_layernorm.weight"), H);
    if (spec.qkNorm) {
      L.qNorm = loadVector(store_, names::layer(i, "self_attn.q_norm.weight"), hd);
      L.kNorm = loadVector(store_, names::layer(i, "self_attn.k_norm.weight"), hd);
    }
    L.q = loadLinear(store_, names::layer(i, "self_attn.q_proj"), qDim, H, spec.attentionBias);
    L.k = loadLinear(store_, names::layer(i, "self_attn.k_proj"), kvDim, H, spec.attentionBias);
    L.v = loadLinear(store_, names::layer(i, "self_attn.v_proj"), kvDim, H, spec.attentionBias);
    L.o = loadLinear(store_, names::layer(i, "self_attn.o_proj"), H, qDim, false);
    L.gate = loadLinear(store_, names::layer(i, "mlp.gate_proj"), I, H, false);
    L.up = loadLinear(store_, names::layer(i, "mlp.up_proj"), I, H, false);
    L.down = loadLinear(store_, names::layer(i, "mlp.down_proj"), H, I, false);
    layers_.push_back(std::move(L));
  }
  invFreq_ = ropeInvFreq(spec_);
  const size_t cacheFloats = (size_t)numBlocks * blockSize * kvDim;
  kCache_.assign(spec.numLayers, std::vector<float>(cacheFloats, 0.f));
  vCache_.assign(spec.numLayers, std::vector<float>(cacheFloats, 0.f));
}

void CpuModel::attention(const ForwardBatch& b, int layer, const float* q, float* out) {
  const int hd = spec_.headDim, nh = spec_.numHeads, nkv = spec_.numKvHeads, group = nh / nkv;
  const size_t kvStride = (size_t)nkv * hd;
  const float scale = 1.f / std::sqrt((float)hd);
  const float* kc = kCache_[layer].data();
  const float* vc = vCache_[layer].data();
  // Row of each token, so (token, head) pairs can be split over threads independently.
  std::vector<int> rowOf(b.numTokens);
  for (int r = 0; r < b.numRows; ++r)
    for (int t = b.queryStartLoc[r]; t < b.queryStartLoc[r + 1]; ++t) rowOf[t] = r;
  pool_.parallelFor((size_t)b.numTokens * nh, [&](size_t begin, size_t end) {
    std::vector<float> scores;
    for (size_t idx = begin; idx < end; ++idx) {
      const int t = static_cast<int>(idx / nh), h = static_cast<int>(idx % nh), kvh = h / group;
      const int r = rowOf[t];
      // Causal: the token at position p sees the row's KV positions 0..p.
      const int visible = b.positions[t] + 1;
      const int32_t* table = b.blockTables + (size_t)r * b.maxBlocksPerRow;
      const float* qv = q + ((size_t)t * nh + h) * hd;
      scores.resize(visible);
      float maxScore = -INFINITY;
      for (int j = 0; j < visible; ++j) {
        const size_t slot = (size_t)table[j / blockSize_] * blockSize_ + j % blockSize_;
        scores[j] = dot(qv, kc + slot * kvStride + (size_t)kvh * hd, hd) * scale;
        maxScore = std::max(maxScore, scores[j]);
      }
      double sum = 0;
      for (int j = 0; j < visible; ++j) {
        scores[j] = std::exp(scores[j] - maxScore);
        sum += scores[j];
      }
      float* o = out + ((size_t)t * nh + h) * hd;
      std::fill(o, o + hd, 0.f);
      const float inv = static_cast<float>(1.0 / sum);
      for (int j = 0; j < visible; ++j) {
        const size_t slot = (size_t)table[j / blockSize_] * blockSize_ + j % blockSize_;
        const float* vv = vc + slot * kvStride + (size_t)kvh * hd;
        const float p = scores[j] * inv;
        for (int d = 0; d < hd; ++d) o[d] += p * vv[d];
      }
    }
  });
}

void CpuModel::forward(const ForwardBatch& b, float* logits) {
  validateBatch(b, numBlocks_, blockSize_, spec_.vocabSize);
  const int T = b.numTokens, H = spec_.hiddenSize, I = spec_.intermediateSize, hd = spec_.headDim;
  const int nh = spec_.numHeads, nkv = spec_.numKvHeads, half = hd / 2;
  const size_t qDim = (size_t)nh * hd, kvDim = (size_t)nkv * hd;
  std::vector<float> x((size_t)T * H), h((size_t)T * H), q(T * qDim), k(T * kvDim), v(T * kvDim), att(T * qDim);
  std::vector<float> proj((size_t)T * H), gate((size_t)T * I), up((size_t)T * I);
  const size_t embRowBytes = (size_t)H * dtypeSize(embed_.dtype);
  for (int t = 0; t < T; ++t)
    toFloat(static_cast<const unsigned char*>(embed_.data) + (size_t)b.tokenIds[t] * embRowBytes, embed_.dtype,
            &x[(size_t)t * H], H);
  // cos/sin per token: float32 angle, as transformers and the TypeScript reference round it.
  std::vector<float> cosT((size_t)T * half), sinT((size_t)T * half);
  for (int t = 0; t < T; ++t)
    for (int i = 0; i < half; ++i) {
      const double a = (float)((double)b.positions[t] * invFreq_[i]);
      cosT[(size_t)t * half + i] = static_cast<float>(std::cos(a));
      sinT[(size_t)t * half + i] = static_cast<float>(std::sin(a));
    }

  for (int l = 0; l < spec_.numLayers; ++l) {
    const Layer& L = layers_[l];
    rmsNormRows(x.data(), L.inputNorm.data(), h.data(), T, H, spec_.rmsNormEps);
    linear(pool_, h.data(), T, L.q, q.data());
    linear(pool_, h.data(), T, L.k, k.data());
    linear(pool_, h.data(), T, L.v, v.data());
    for (int t = 0; t < T; ++t) {
      const float* c = &cosT[(size_t)t * half];
      const float* s = &sinT[(size_t)t * half];
      for (int hh = 0; hh < nh; ++hh) {
        float* qv = &q[t * qDim + (size_t)hh * hd];
        if (spec_.qkNorm) rmsNormRows(qv, L.qNorm.data(), qv, 1, hd, spec_.rmsNormEps);
        applyRope(qv, c, s, hd);
      }
      float* kDst = &kCache_[l][(size_t)b.slotMapping[t] * kvDim];
      float* vDst = &vCache_[l][(size_t)b.slotMapping[t] * kvDim];
      for (int hh = 0; hh < nkv; ++hh) {
        float* kv = &k[t * kvDim + (size_t)hh * hd];
        if (spec_.qkNorm) rmsNormRows(kv, L.kNorm.data(), kv, 1, hd, spec_.rmsNormEps);
        applyRope(kv, c, s, hd);
      }
      std::copy(&k[t * kvDim], &k[(t + 1) * kvDim], kDst);
      std::copy(&v[t * kvDim], &v[(t + 1) * kvDim], vDst);
    }
    attention(b, l, q.data(), att.data());
    linear(pool_, att.data(), T, L.o, proj.data());
    for (size_t i = 0; i < x.size(); ++i) x[i] += proj[i];
    rmsNormRows(x.data(), L.postNorm.data(), h.data(), T, H, spec_.rmsNormEps);
    linear(pool_, h.data(), T, L.gate, gate.data());
    linear(pool_, h.data(), T, L.up, up.data());
    for (size_t i = 0; i < gate.size(); ++i) gate[i] = gate[i] / (1.f + std::exp(-gate[i])) * up[i];
    linear(pool_, gate.data(), T, L.down, proj.data());
    for (size_t i = 0; i < x.size(); ++i) x[i] += proj[i];
  }
  // Final norm and LM head only for the tokens whose logits are wanted.
  const int R = b.numLogitTokens;
  std::vector<float> sel((size_t)R * H);
  for (int i = 0; i < R; ++i)
    rmsNormRows(&x[(size_t)b.logitTokenIndices[i] * H], finalNorm_.data(), &sel[(size_t)i * H], 1, H,
                spec_.rmsNormEps);
  linear(pool_, sel.data(), R, lmHead_, logits);
}

}  // namespace serval
