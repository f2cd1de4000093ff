// PROTOTYPE, not used by the library: causal self-attention on CPU (fp32), forward and backward, for the
// small head dimensions of the arena studies (8-16). Four query rows at a time against 16-key blocks held
// transposed in L1/L2 (GCC vector extensions), an inline vectorised exp, gradients accumulated per
// (batch, head). Timed against PyTorch's CPU flash kernel by benchmarks/attention_kernel.py.
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace {

constexpr int64_t W = 16;  // lanes per vector
typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));
typedef float vfu __attribute__((vector_size(64), aligned(4)));

inline vf load(const float* p) { return *reinterpret_cast<const vfu*>(p); }
inline void store(float* p, vf x) { *reinterpret_cast<vfu*>(p) = x; }
inline vf splat(float x) { return vf{} + x; }
inline float hsum(vf x) {
  float t = 0.0f;
  for (int u = 0; u < W; ++u) t += x[u];
  return t;
}
inline int64_t round_up(int64_t n) { return (n + W - 1) / W * W; }

// exp on 16 lanes: Cody-Waite range reduction and a degree-6 polynomial (the Cephes expf coefficients,
// max relative error ~2 ulp); exp(x < -87.3) = 0 and NaN stays NaN.
inline vf vexp(vf x) {
  const vf lo = splat(-87.3f), hi = splat(88.7f), zero = splat(0.0f);
  vf xc = x < lo ? lo : x;
  xc = xc > hi ? hi : xc;
  const vf magic = splat(12582912.0f);  // 1.5 * 2^23: adding and subtracting it rounds to nearest
  const vf n = (xc * 1.44269504088896341f + magic) - magic;
  vf r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const vi e = (__builtin_convertvector(n, vi) + 127) << 23;
  vf y = p * reinterpret_cast<const vf&>(e);
  y = x < lo ? zero : y;
  return x != x ? x : y;
}

// Xt[d * Tp + j] = X[j * D + d], zero-padded to Tp columns.
inline void transpose_in(const float* X, float* Xt, int64_t T, int64_t D, int64_t Tp) {
  for (int64_t d = 0; d < D; ++d) {
    float* row = Xt + d * Tp;
    for (int64_t j = 0; j < T; ++j) row[j] = X[j * D + d];
    for (int64_t j = T; j < Tp; ++j) row[j] = 0.0f;
  }
}

inline vf lane_index() {
  vf idx;
  for (int u = 0; u < W; ++u) idx[u] = static_cast<float>(u);
  return idx;
}

}  // namespace

constexpr int64_t R = 4;  // query rows per pass: each key vector loaded serves R rows

template <int DC>
std::vector<torch::Tensor> forward_impl(torch::Tensor q, torch::Tensor k, torch::Tensor v, double scale_) {
  const int64_t BH = q.size(0), T = q.size(1), D = DC ? DC : q.size(2), Tp = round_up(T);
  const float scale = static_cast<float>(scale_);
  auto o = torch::empty_like(q);
  auto lse = torch::empty({BH, T}, q.options());
  const float *Q = q.data_ptr<float>(), *K = k.data_ptr<float>(), *V = v.data_ptr<float>();
  float *O = o.data_ptr<float>(), *L = lse.data_ptr<float>();
  const vf lanes = lane_index(), ninf = splat(-std::numeric_limits<float>::infinity());
  at::parallel_for(0, BH, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> Kt(D * Tp), Vt(D * Tp), Sbuf(R * Tp), qs(R * D);
    float* __restrict__ kt0 = Kt.data();
    float* __restrict__ vt0 = Vt.data();
    float* __restrict__ sb = Sbuf.data();
    for (int64_t bh = b0; bh < b1; ++bh) {
      const int64_t off = bh * T * D;
      transpose_in(K + off, kt0, T, D, Tp);
      transpose_in(V + off, vt0, T, D, Tp);
      for (int64_t i0 = 0; i0 < T; i0 += R) {
        const int64_t n16 = round_up(std::min(i0 + R, T));
        for (int64_t r = 0; r < R; ++r)
          for (int64_t d = 0; d < D; ++d) qs[r * D + d] = i0 + r < T ? Q[off + (i0 + r) * D + d] * scale : 0.0f;
        vf mv[R];
        for (int64_t r = 0; r < R; ++r) mv[r] = ninf;
        for (int64_t j = 0; j < n16; j += W) {
          vf a[R];
          for (int64_t r = 0; r < R; ++r) a[r] = splat(0.0f);
          for (int64_t d = 0; d < D; ++d) {
            const vf kv = load(kt0 + d * Tp + j);
            for (int64_t r = 0; r < R; ++r) a[r] += qs[r * D + d] * kv;
          }
          const vf key = lanes + static_cast<float>(j);
          for (int64_t r = 0; r < R; ++r) {
            a[r] = key <= static_cast<float>(i0 + r) ? a[r] : ninf;  // causal mask
            store(sb + r * Tp + j, a[r]);
            mv[r] = a[r] > mv[r] ? a[r] : mv[r];
          }
        }
        float m[R], l[R], inv[R];
        vf lv[R];
        for (int64_t r = 0; r < R; ++r) {
          m[r] = mv[r][0];
          for (int u = 1; u < W; ++u) m[r] = mv[r][u] > m[r] ? mv[r][u] : m[r];
          lv[r] = splat(0.0f);
        }
        for (int64_t j = 0; j < n16; j += W)
          for (int64_t r = 0; r < R; ++r) {
            const vf p = vexp(load(sb + r * Tp + j) - m[r]);
            store(sb + r * Tp + j, p);
            lv[r] += p;
          }
        for (int64_t r = 0; r < R; ++r) {
          l[r] = hsum(lv[r]);
          inv[r] = 1.0f / l[r];
        }
        for (int64_t d = 0; d < D; ++d) {
          const float* __restrict__ vt = vt0 + d * Tp;
          vf acc[R];
          for (int64_t r = 0; r < R; ++r) acc[r] = splat(0.0f);
          for (int64_t j = 0; j < n16; j += W) {
            const vf vv = load(vt + j);
            for (int64_t r = 0; r < R; ++r) acc[r] += load(sb + r * Tp + j) * vv;
          }
          for (int64_t r = 0; r < R; ++r)
            if (i0 + r < T) O[off + (i0 + r) * D + d] = hsum(acc[r]) * inv[r];
        }
        for (int64_t r = 0; r < R; ++r)
          if (i0 + r < T) L[bh * T + i0 + r] = m[r] + std::log(l[r]);
      }
    }
  });
  return {o, lse};
}

// Gradients w.r.t. q, k, v given go = dLoss/do (all [BH, T, D] contiguous) and the forward's o, lse.
template <int DC>
std::vector<torch::Tensor> backward_impl(torch::Tensor go, torch::Tensor q, torch::Tensor k, torch::Tensor v,
                                    torch::Tensor o, torch::Tensor lse, double scale_) {
  const int64_t BH = q.size(0), T = q.size(1), D = DC ? DC : q.size(2), Tp = round_up(T);
  const float scale = static_cast<float>(scale_);
  auto dq = torch::empty_like(q), dk = torch::empty_like(k), dv = torch::empty_like(v);
  const float *GO = go.data_ptr<float>(), *Q = q.data_ptr<float>(), *K = k.data_ptr<float>(),
              *V = v.data_ptr<float>(), *O = o.data_ptr<float>(), *L = lse.data_ptr<float>();
  float *DQ = dq.data_ptr<float>(), *DK = dk.data_ptr<float>(), *DV = dv.data_ptr<float>();
  const vf lanes = lane_index();
  at::parallel_for(0, BH, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> Kt(D * Tp), Vt(D * Tp), dKt(D * Tp), dVt(D * Tp), Pbuf(R * Tp), Sbuf(R * Tp),
        qs(R * D), gs(R * D);
    float* __restrict__ kt0 = Kt.data();
    float* __restrict__ vt0 = Vt.data();
    float* __restrict__ dkt0 = dKt.data();
    float* __restrict__ dvt0 = dVt.data();
    float* __restrict__ pb = Pbuf.data();
    float* __restrict__ sb = Sbuf.data();
    for (int64_t bh = b0; bh < b1; ++bh) {
      const int64_t off = bh * T * D;
      transpose_in(K + off, kt0, T, D, Tp);
      transpose_in(V + off, vt0, T, D, Tp);
      std::fill(dKt.begin(), dKt.end(), 0.0f);
      std::fill(dVt.begin(), dVt.end(), 0.0f);
      for (int64_t i0 = 0; i0 < T; i0 += R) {
        const int64_t n16 = round_up(std::min(i0 + R, T));
        float Di[R], li[R];
        for (int64_t r = 0; r < R; ++r) {
          const bool ok = i0 + r < T;  // rows past T get zero gradients: they add nothing
          Di[r] = 0.0f;
          li[r] = ok ? L[bh * T + i0 + r] : 0.0f;
          for (int64_t d = 0; d < D; ++d) {
            qs[r * D + d] = ok ? Q[off + (i0 + r) * D + d] : 0.0f;
            gs[r * D + d] = ok ? GO[off + (i0 + r) * D + d] : 0.0f;
            Di[r] += ok ? gs[r * D + d] * O[off + (i0 + r) * D + d] : 0.0f;
          }
        }
        // pass 1: probabilities and score gradients of the R rows
        for (int64_t j = 0; j < n16; j += W) {
          vf sc[R], dp[R];
          for (int64_t r = 0; r < R; ++r) sc[r] = dp[r] = splat(0.0f);
          for (int64_t d = 0; d < D; ++d) {
            const vf kv = load(kt0 + d * Tp + j), vv = load(vt0 + d * Tp + j);
            for (int64_t r = 0; r < R; ++r) {
              sc[r] += (qs[r * D + d] * scale) * kv;
              dp[r] += gs[r * D + d] * vv;
            }
          }
          const vf key = lanes + static_cast<float>(j);
          for (int64_t r = 0; r < R; ++r) {
            vf p = vexp(sc[r] - li[r]);
            p = key <= static_cast<float>(i0 + r) ? p : splat(0.0f);
            store(pb + r * Tp + j, p);
            store(sb + r * Tp + j, p * (dp[r] - Di[r]) * scale);
          }
        }
        // pass 2, per head dimension: dV and dK (vectors over keys), dQ (reductions over keys)
        for (int64_t d = 0; d < D; ++d) {
          float* __restrict__ dvt = dvt0 + d * Tp;
          float* __restrict__ dkt = dkt0 + d * Tp;
          const float* __restrict__ kt = kt0 + d * Tp;
          vf acc[R];
          for (int64_t r = 0; r < R; ++r) acc[r] = splat(0.0f);
          for (int64_t j = 0; j < n16; j += W) {
            const vf kv = load(kt + j);
            vf dvs = load(dvt + j), dks = load(dkt + j);
            for (int64_t r = 0; r < R; ++r) {
              const vf p = load(pb + r * Tp + j), ds = load(sb + r * Tp + j);
              dvs += p * gs[r * D + d];
              dks += ds * qs[r * D + d];
              acc[r] += ds * kv;
            }
            store(dvt + j, dvs);
            store(dkt + j, dks);
          }
          for (int64_t r = 0; r < R; ++r)
            if (i0 + r < T) DQ[off + (i0 + r) * D + d] = hsum(acc[r]);
        }
      }
      for (int64_t j = 0; j < T; ++j)
        for (int64_t d = 0; d < D; ++d) {
          DK[off + j * D + d] = dKt[d * Tp + j];
          DV[off + j * D + d] = dVt[d * Tp + j];
        }
    }
  });
  return {dq, dk, dv};
}

static void check(const torch::Tensor& t, const torch::Tensor& like, const char* name) {
  TORCH_CHECK(t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous() && t.dim() == 3,
              name, " must be a contiguous fp32 CPU tensor [BH, T, D]");
  TORCH_CHECK(t.sizes() == like.sizes(), name, " has shape ", t.sizes(), ", expected ", like.sizes());
}

std::vector<torch::Tensor> forward(torch::Tensor q, torch::Tensor k, torch::Tensor v, double scale) {
  check(q, q, "q"); check(k, q, "k"); check(v, q, "v");
  switch (q.size(2)) {
    case 8: return forward_impl<8>(q, k, v, scale);
    case 16: return forward_impl<16>(q, k, v, scale);
    case 32: return forward_impl<32>(q, k, v, scale);
    default: return forward_impl<0>(q, k, v, scale);
  }
}

std::vector<torch::Tensor> backward(torch::Tensor go, torch::Tensor q, torch::Tensor k, torch::Tensor v,
                                    torch::Tensor o, torch::Tensor lse, double scale) {
  check(q, q, "q"); check(k, q, "k"); check(v, q, "v"); check(go, q, "go"); check(o, q, "o");
  TORCH_CHECK(lse.is_contiguous() && lse.numel() == q.size(0) * q.size(1), "lse must be contiguous [BH, T]");
  switch (q.size(2)) {
    case 8: return backward_impl<8>(go, q, k, v, o, lse, scale);
    case 16: return backward_impl<16>(go, q, k, v, o, lse, scale);
    case 32: return backward_impl<32>(go, q, k, v, o, lse, scale);
    default: return backward_impl<0>(go, q, k, v, o, lse, scale);
  }
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &forward, "causal attention forward (CPU, fp32)");
  m.def("backward", &backward, "causal attention backward (CPU, fp32)");
}
