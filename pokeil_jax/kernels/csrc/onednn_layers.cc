// The ImpalaCNN's 3x3 convolution (stride 1, SAME padding, NHWC activations, HWIO kernels) and
// 3x3 stride-2 max-pool for XLA:CPU, computed by oneDNN and exposed as XLA FFI handlers.
// pokeil_jax/kernels/onednn.py wraps them in jax.custom_vjps; benchmarks/README.md says why
// (XLA:CPU's own convolution gradients run at about half of oneDNN's speed on this kind of CPU).
//
// Handlers (all float32; the buffers XLA passes are dense row-major):
//   pokeil_conv_forward           (x[N,H,W,C], w[KH,KW,C,O], b[O])  -> y[N,H,W,O]
//                                 (attribute relu: y = max(conv + b, 0), fused)
//   pokeil_conv_backward          (x, w, dy[N,H,W,O])               -> dx, dw, db
//   pokeil_conv_backward_weights  (x, w, dy)                        -> dw, db   (no dx: first layer)
//   pokeil_pool_forward           (x[N,H,W,C])                      -> y[N,ceil(H/2),ceil(W/2),C], workspace
//   pokeil_pool_backward          (dy, workspace)                   -> dx[N,H,W,C]
// and the plain C function pokeil_pool_workspace_bytes(n, h, w, c): the workspace's size.
//
// oneDNN primitives are built once per shape and cached; each call wraps XLA's buffers in
// oneDNN memory objects without copying, except the small kernels when oneDNN picks a blocked
// layout for them: those are copied by a gather over a precomputed offset table (no reorder
// primitive). Builds against the oneDNN 2.x C++ API (Debian bookworm: libdnnl-dev 2.6) and the
// 3.x one (PyPI: onednn-devel-cpu-gomp 2023.2 = oneDNN 3.2, whose brgemm gradient kernels are
// faster on AVX-512).
#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;

dnnl::engine& CpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// `body()` (an ffi::Error), with a oneDNN exception turned into an FFI error.
template <typename Body>
ffi::Error WithOneDnnErrors(Body&& body) {
  try {
    return body();
  } catch (const dnnl::error& e) {
    return ffi::Error(ffi::ErrorCode::kInternal, std::string("oneDNN: ") + e.what());
  }
}

// The value built by `build(key)` the first time `key` is asked for (thread-safe; one cache
// per key and value type).
template <typename Key, typename Value>
Value& Cached(const Key& key, std::unique_ptr<Value> (*build)(const Key&)) {
  static std::mutex mutex;
  static std::map<Key, std::unique_ptr<Value>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[key];
  if (!slot) slot = build(key);
  return *slot;
}

// N, H, W, C (input channels), O (output channels), KH, KW.
using ConvKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;

// Everything oneDNN needs for one convolution shape, forward and both gradients.
struct ConvPrimitives {
  memory::desc src, dst, bias, weights_user;  // the layouts XLA hands over
  dnnl::convolution_forward::primitive_desc fwd_pd, fwd_relu_pd;  // the latter: ReLU fused
  dnnl::convolution_forward fwd, fwd_relu;
  dnnl::convolution_backward_data::primitive_desc bwd_data_pd;
  dnnl::convolution_backward_data bwd_data;
  dnnl::convolution_backward_weights::primitive_desc bwd_weights_pd;
  dnnl::convolution_backward_weights bwd_weights;
  // Kernel layout changes: for each HWIO element, its offset in the layout oneDNN picked
  // (empty when oneDNN takes XLA's HWIO as it is). A gather over this table costs a few
  // microseconds; a oneDNN reorder primitive of these 9K-element kernels cost ~100 us per
  // call in the train step (27 of them: 4% of the step at batch 64).
  std::vector<int64_t> fwd_weights_map, fwd_relu_weights_map, bwd_data_weights_map,
      diff_weights_map;
};

// A blocked layout as oneDNN describes it: outer strides per dimension, then inner blocks,
// outermost first.
struct Blocking {
  memory::dims dims, strides, inner_blks;
  std::vector<int> inner_idxs;
  int inner_nblks = 0;
  int64_t offset0 = 0;
};

Blocking BlockingOf(const memory::desc& md) {
  Blocking b;
#if DNNL_VERSION_MAJOR >= 3
  if (md.get_format_kind() != memory::format_kind::blocked)
    throw dnnl::error(dnnl_unimplemented, "pokeil conv: kernel layout is not a blocked one");
  b.dims = md.get_dims();
  b.strides = md.get_strides();
  b.inner_nblks = md.get_inner_nblks();
  b.inner_blks = md.get_inner_blks();
  for (auto idx : md.get_inner_idxs()) b.inner_idxs.push_back(static_cast<int>(idx));
#else
  const dnnl_memory_desc_t& d = md.data;
  if (d.format_kind != dnnl_blocked)
    throw dnnl::error(dnnl_unimplemented, "pokeil conv: kernel layout is not a blocked one");
  const auto& blk = d.format_desc.blocking;
  b.dims.assign(d.dims, d.dims + d.ndims);
  b.strides.assign(blk.strides, blk.strides + d.ndims);
  b.inner_nblks = blk.inner_nblks;
  b.inner_blks.assign(blk.inner_blks, blk.inner_blks + blk.inner_nblks);
  b.inner_idxs.assign(blk.inner_idxs, blk.inner_idxs + blk.inner_nblks);
  b.offset0 = d.offset0;
#endif
  return b;
}

// Offset of every element of an (O, I, KH, KW) kernel stored as HWIO, in the blocked layout
// `md`. Empty if `md` is HWIO itself.
std::vector<int64_t> WeightOffsets(const memory::desc& md, const memory::desc& hwio) {
  if (md == hwio) return {};
  const Blocking blocking = BlockingOf(md);
  const int64_t o = blocking.dims[0], c = blocking.dims[1], kh = blocking.dims[2],
                kw = blocking.dims[3];
  // Per dimension: its whole inner block; per inner block: its stride among the inner
  // elements and how many of the dimension's elements one step of it spans.
  int64_t whole_block[4] = {1, 1, 1, 1};
  for (int k = 0; k < blocking.inner_nblks; ++k) whole_block[blocking.inner_idxs[k]] *= blocking.inner_blks[k];
  std::vector<int64_t> inner_stride(blocking.inner_nblks), spans(blocking.inner_nblks);
  for (int k = blocking.inner_nblks - 1, stride = 1; k >= 0; --k) {
    inner_stride[k] = stride;
    stride *= blocking.inner_blks[k];
    int64_t span = 1;
    for (int j = k + 1; j < blocking.inner_nblks; ++j)
      if (blocking.inner_idxs[j] == blocking.inner_idxs[k]) span *= blocking.inner_blks[j];
    spans[k] = span;
  }
  std::vector<int64_t> offsets(o * c * kh * kw);
  int64_t hwio_index = 0;
  for (int64_t y = 0; y < kh; ++y)
    for (int64_t x = 0; x < kw; ++x)
      for (int64_t ci = 0; ci < c; ++ci)
        for (int64_t oi = 0; oi < o; ++oi) {
          const int64_t index[4] = {oi, ci, y, x};
          int64_t offset = blocking.offset0;
          for (int dim = 0; dim < 4; ++dim) offset += (index[dim] / whole_block[dim]) * blocking.strides[dim];
          for (int k = 0; k < blocking.inner_nblks; ++k) {
            const int dim = blocking.inner_idxs[k];
            offset += ((index[dim] % whole_block[dim]) / spans[k] % blocking.inner_blks[k]) * inner_stride[k];
          }
          offsets[hwio_index++] = offset;
        }
  return offsets;
}

// One stream per thread: creating one per call costs more than the small layers' work.
dnnl::stream& ThreadStream() {
  thread_local dnnl::stream stream(CpuEngine());
  return stream;
}

dnnl::primitive_attr UserScratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // thread-safe execution
  return attr;
}

std::unique_ptr<ConvPrimitives> BuildPrimitives(const ConvKey& key) {
  auto [n, h, w, c, o, kh, kw] = key;
  auto& engine = CpuEngine();
  auto p = std::make_unique<ConvPrimitives>();
  p->src = memory::desc({n, c, h, w}, kF32, Tag::nhwc);
  p->dst = memory::desc({n, o, h, w}, kF32, Tag::nhwc);
  p->bias = memory::desc({o}, kF32, Tag::x);
  p->weights_user = memory::desc({o, c, kh, kw}, kF32, Tag::hwio);
  memory::desc weights_any({o, c, kh, kw}, kF32, Tag::any);
  // XLA's SAME padding for stride 1: total k - 1, the smaller half first.
  memory::dims strides{1, 1};
  memory::dims pad_l{(kh - 1) / 2, (kw - 1) / 2};
  memory::dims pad_r{kh - 1 - (kh - 1) / 2, kw - 1 - (kw - 1) / 2};
  auto attr = UserScratchpad();

  // relu(conv(x) + b) in the same pass over the output: saves XLA a read and a write of it.
  auto relu_attr = UserScratchpad();
  dnnl::post_ops relu;
  const auto kDirect = dnnl::algorithm::convolution_direct;
  const auto kTraining = dnnl::prop_kind::forward_training;
#if DNNL_VERSION_MAJOR >= 3
  relu.append_eltwise(dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  relu_attr.set_post_ops(relu);
  using FwdPD = dnnl::convolution_forward::primitive_desc;
  using BwdDataPD = dnnl::convolution_backward_data::primitive_desc;
  using BwdWeightsPD = dnnl::convolution_backward_weights::primitive_desc;
  auto forward = [&](const dnnl::primitive_attr& a) {
    return FwdPD(engine, kTraining, kDirect, p->src, weights_any, p->bias, p->dst, strides, pad_l,
                 pad_r, a);
  };
  p->fwd_pd = forward(attr);
  p->fwd_relu_pd = forward(relu_attr);
  p->bwd_data_pd = BwdDataPD(engine, kDirect, p->src, weights_any, p->dst, strides, pad_l, pad_r,
                             p->fwd_pd, attr);
  p->bwd_weights_pd = BwdWeightsPD(engine, kDirect, p->src, weights_any, p->bias, p->dst, strides,
                                   pad_l, pad_r, p->fwd_pd, attr);
#else
  relu.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  relu_attr.set_post_ops(relu);
  using FwdPD = dnnl::convolution_forward::primitive_desc;
  using BwdDataPD = dnnl::convolution_backward_data::primitive_desc;
  using BwdWeightsPD = dnnl::convolution_backward_weights::primitive_desc;
  dnnl::convolution_forward::desc fwd_desc(kTraining, kDirect, p->src, weights_any, p->bias,
                                           p->dst, strides, pad_l, pad_r);
  p->fwd_pd = FwdPD(fwd_desc, attr, engine);
  p->fwd_relu_pd = FwdPD(fwd_desc, relu_attr, engine);
  dnnl::convolution_backward_data::desc bwd_data_desc(kDirect, p->src, weights_any, p->dst,
                                                      strides, pad_l, pad_r);
  p->bwd_data_pd = BwdDataPD(bwd_data_desc, attr, engine, p->fwd_pd);
  dnnl::convolution_backward_weights::desc bwd_weights_desc(kDirect, p->src, weights_any,
                                                            p->bias, p->dst, strides, pad_l, pad_r);
  p->bwd_weights_pd = BwdWeightsPD(bwd_weights_desc, attr, engine, p->fwd_pd);
#endif
  p->fwd = dnnl::convolution_forward(p->fwd_pd);
  p->fwd_relu = dnnl::convolution_forward(p->fwd_relu_pd);
  p->bwd_data = dnnl::convolution_backward_data(p->bwd_data_pd);
  p->bwd_weights = dnnl::convolution_backward_weights(p->bwd_weights_pd);
  p->fwd_weights_map = WeightOffsets(p->fwd_pd.weights_desc(), p->weights_user);
  p->fwd_relu_weights_map = WeightOffsets(p->fwd_relu_pd.weights_desc(), p->weights_user);
  p->bwd_data_weights_map = WeightOffsets(p->bwd_data_pd.weights_desc(), p->weights_user);
  p->diff_weights_map = WeightOffsets(p->bwd_weights_pd.diff_weights_desc(), p->weights_user);
  return p;
}

ConvPrimitives& Primitives(const ConvKey& key) { return Cached(key, &BuildPrimitives); }

// Scratch space for one primitive execution on this thread (user scratchpad mode).
memory Scratchpad(const memory::desc& md, int slot) {
  thread_local std::vector<char> buffers[2];
  auto& buffer = buffers[slot];
  if (buffer.size() < md.get_size()) buffer.resize(md.get_size());
  return memory(md, CpuEngine(), buffer.data());
}

// The kernel in the layout `want`: XLA's HWIO buffer itself, or a copy gathered into `storage`
// by `offsets` (zero where the layout pads).
memory WeightsIn(const ConvPrimitives& p, const memory::desc& want,
                 const std::vector<int64_t>& offsets, const float* hwio,
                 std::vector<float>& storage) {
  if (offsets.empty()) return memory(p.weights_user, CpuEngine(), const_cast<float*>(hwio));
  storage.assign(want.get_size() / sizeof(float), 0.0f);
  for (size_t i = 0; i < offsets.size(); ++i) storage[offsets[i]] = hwio[i];
  return memory(want, CpuEngine(), storage.data());
}

template <typename T>
ConvKey KeyOf(const T& x, const T& w) {
  auto xd = x.dimensions();
  auto wd = w.dimensions();
  return {xd[0], xd[1], xd[2], xd[3], wd[3], wd[0], wd[1]};
}

ffi::Error CheckShapes(ffi::Buffer<ffi::F32>& x, ffi::Buffer<ffi::F32>& w) {
  if (x.dimensions().size() != 4 || w.dimensions().size() != 4)
    return ffi::Error(ffi::ErrorCode::kInvalidArgument, "pokeil conv: x and w must be rank 4");
  if (x.dimensions()[3] != w.dimensions()[2])
    return ffi::Error(ffi::ErrorCode::kInvalidArgument,
                      "pokeil conv: x channels != kernel input channels");
  return ffi::Error::Success();
}

ffi::Error ConvForwardImpl(ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> w,
                           ffi::Buffer<ffi::F32> b, ffi::ResultBuffer<ffi::F32> y, bool relu) {
  if (auto err = CheckShapes(x, w); err.failure()) return err;
  return WithOneDnnErrors([&] {
    auto& p = Primitives(KeyOf(x, w));
    auto& engine = CpuEngine();
    auto& stream = ThreadStream();
    const auto& pd = relu ? p.fwd_relu_pd : p.fwd_pd;
    std::vector<float> weights_storage;
    memory weights = WeightsIn(p, pd.weights_desc(),
                               relu ? p.fwd_relu_weights_map : p.fwd_weights_map, w.typed_data(),
                               weights_storage);
    (relu ? p.fwd_relu : p.fwd).execute(stream, {{DNNL_ARG_SRC, memory(p.src, engine, x.typed_data())},
                           {DNNL_ARG_WEIGHTS, weights},
                           {DNNL_ARG_BIAS, memory(p.bias, engine, b.typed_data())},
                           {DNNL_ARG_DST, memory(p.dst, engine, y->typed_data())},
                           {DNNL_ARG_SCRATCHPAD, Scratchpad(pd.scratchpad_desc(), 0)}});
    stream.wait();
    return ffi::Error::Success();
  });
}

// dw, db (and dx unless dx is null).
ffi::Error ConvBackward(ffi::Buffer<ffi::F32>& x, ffi::Buffer<ffi::F32>& w,
                        ffi::Buffer<ffi::F32>& dy, float* dx, float* dw, float* db) {
  if (auto err = CheckShapes(x, w); err.failure()) return err;
  return WithOneDnnErrors([&] {
    auto& p = Primitives(KeyOf(x, w));
    auto& engine = CpuEngine();
    auto& stream = ThreadStream();
    memory diff_dst(p.dst, engine, dy.typed_data());
    if (dx != nullptr) {
      std::vector<float> weights_storage;
      memory weights = WeightsIn(p, p.bwd_data_pd.weights_desc(), p.bwd_data_weights_map,
                                 w.typed_data(), weights_storage);
      p.bwd_data.execute(stream, {{DNNL_ARG_DIFF_DST, diff_dst},
                                  {DNNL_ARG_WEIGHTS, weights},
                                  {DNNL_ARG_DIFF_SRC, memory(p.src, engine, dx)},
                                  {DNNL_ARG_SCRATCHPAD,
                                   Scratchpad(p.bwd_data_pd.scratchpad_desc(), 0)}});
    }
    memory::desc want = p.bwd_weights_pd.diff_weights_desc();
    memory user(p.weights_user, engine, dw);
    std::vector<float> blocked_storage;
    memory diff_weights = user;
    if (!p.diff_weights_map.empty()) {
      blocked_storage.resize(want.get_size() / sizeof(float));
      diff_weights = memory(want, engine, blocked_storage.data());
    }
    p.bwd_weights.execute(stream, {{DNNL_ARG_SRC, memory(p.src, engine, x.typed_data())},
                                   {DNNL_ARG_DIFF_DST, diff_dst},
                                   {DNNL_ARG_DIFF_WEIGHTS, diff_weights},
                                   {DNNL_ARG_DIFF_BIAS, memory(p.bias, engine, db)},
                                   {DNNL_ARG_SCRATCHPAD,
                                    Scratchpad(p.bwd_weights_pd.scratchpad_desc(), 1)}});
    stream.wait();
    if (!p.diff_weights_map.empty()) {
      const auto& offsets = p.diff_weights_map;
      for (size_t i = 0; i < offsets.size(); ++i) dw[i] = blocked_storage[offsets[i]];
    }
    return ffi::Error::Success();
  });
}

ffi::Error ConvBackwardImpl(ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> w,
                            ffi::Buffer<ffi::F32> dy, ffi::ResultBuffer<ffi::F32> dx,
                            ffi::ResultBuffer<ffi::F32> dw, ffi::ResultBuffer<ffi::F32> db) {
  return ConvBackward(x, w, dy, dx->typed_data(), dw->typed_data(), db->typed_data());
}

ffi::Error ConvBackwardWeightsImpl(ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> w,
                                   ffi::Buffer<ffi::F32> dy, ffi::ResultBuffer<ffi::F32> dw,
                                   ffi::ResultBuffer<ffi::F32> db) {
  return ConvBackward(x, w, dy, nullptr, dw->typed_data(), db->typed_data());
}


// ---- 3x3 stride-2 max-pool, XLA's SAME padding (NHWC) ----------------------------------------
// The forward pass also returns oneDNN's workspace (which input won each window) as opaque
// bytes; the backward pass routes each window's cotangent to that input.

using PoolKey = std::tuple<int64_t, int64_t, int64_t, int64_t>;  // N, H, W, C

struct PoolPrimitives {
  memory::desc src, dst;
  dnnl::pooling_forward::primitive_desc fwd_pd;
  dnnl::pooling_forward fwd;
  dnnl::pooling_backward::primitive_desc bwd_pd;
  dnnl::pooling_backward bwd;
};

int64_t PoolOut(int64_t size) { return (size + 1) / 2; }

std::unique_ptr<PoolPrimitives> BuildPool(const PoolKey& key) {
  auto [n, h, w, c] = key;
  auto& engine = CpuEngine();
  auto p = std::make_unique<PoolPrimitives>();
  int64_t oh = PoolOut(h), ow = PoolOut(w);
  p->src = memory::desc({n, c, h, w}, kF32, Tag::nhwc);
  p->dst = memory::desc({n, c, oh, ow}, kF32, Tag::nhwc);
  // SAME: total padding (out - 1) * 2 + 3 - size, the smaller half before the data.
  int64_t pad_h = (oh - 1) * 2 + 3 - h, pad_w = (ow - 1) * 2 + 3 - w;
  memory::dims strides{2, 2}, kernel{3, 3};
  memory::dims pad_l{pad_h / 2, pad_w / 2}, pad_r{pad_h - pad_h / 2, pad_w - pad_w / 2};
  auto attr = UserScratchpad();
  const auto kMax = dnnl::algorithm::pooling_max;
#if DNNL_VERSION_MAJOR >= 3
  memory::dims dilation{0, 0};
  p->fwd_pd = dnnl::pooling_forward::primitive_desc(engine, dnnl::prop_kind::forward_training,
                                                    kMax, p->src, p->dst, strides, kernel,
                                                    dilation, pad_l, pad_r, attr);
  p->bwd_pd = dnnl::pooling_backward::primitive_desc(engine, kMax, p->src, p->dst, strides,
                                                     kernel, dilation, pad_l, pad_r, p->fwd_pd,
                                                     attr);
#else
  dnnl::pooling_forward::desc fwd_desc(dnnl::prop_kind::forward_training, kMax, p->src, p->dst,
                                       strides, kernel, pad_l, pad_r);
  p->fwd_pd = dnnl::pooling_forward::primitive_desc(fwd_desc, attr, engine);
  dnnl::pooling_backward::desc bwd_desc(kMax, p->src, p->dst, strides, kernel, pad_l, pad_r);
  p->bwd_pd = dnnl::pooling_backward::primitive_desc(bwd_desc, attr, engine, p->fwd_pd);
#endif
  p->fwd = dnnl::pooling_forward(p->fwd_pd);
  p->bwd = dnnl::pooling_backward(p->bwd_pd);
  return p;
}

PoolPrimitives& Pool(const PoolKey& key) { return Cached(key, &BuildPool); }

ffi::Error PoolForwardImpl(ffi::Buffer<ffi::F32> x, ffi::ResultBuffer<ffi::F32> y,
                           ffi::ResultBuffer<ffi::U8> workspace) {
  auto d = x.dimensions();
  if (d.size() != 4)
    return ffi::Error(ffi::ErrorCode::kInvalidArgument, "pokeil pool: x must be rank 4");
  return WithOneDnnErrors([&] {
    auto& p = Pool({d[0], d[1], d[2], d[3]});
    if (workspace->size_bytes() != p.fwd_pd.workspace_desc().get_size())
      return ffi::Error(ffi::ErrorCode::kInvalidArgument, "pokeil pool: workspace size mismatch");
    auto& engine = CpuEngine();
    auto& stream = ThreadStream();
    p.fwd.execute(stream, {{DNNL_ARG_SRC, memory(p.src, engine, x.typed_data())},
                           {DNNL_ARG_DST, memory(p.dst, engine, y->typed_data())},
                           {DNNL_ARG_WORKSPACE,
                            memory(p.fwd_pd.workspace_desc(), engine, workspace->untyped_data())},
                           {DNNL_ARG_SCRATCHPAD, Scratchpad(p.fwd_pd.scratchpad_desc(), 0)}});
    stream.wait();
    return ffi::Error::Success();
  });
}

ffi::Error PoolBackwardImpl(ffi::Buffer<ffi::F32> dy, ffi::Buffer<ffi::U8> workspace,
                            ffi::ResultBuffer<ffi::F32> dx) {
  auto d = dx->dimensions();
  return WithOneDnnErrors([&] {
    auto& p = Pool({d[0], d[1], d[2], d[3]});
    auto& engine = CpuEngine();
    auto& stream = ThreadStream();
    p.bwd.execute(stream, {{DNNL_ARG_DIFF_DST, memory(p.dst, engine, dy.typed_data())},
                           {DNNL_ARG_WORKSPACE,
                            memory(p.fwd_pd.workspace_desc(), engine, workspace.untyped_data())},
                           {DNNL_ARG_DIFF_SRC, memory(p.src, engine, dx->typed_data())},
                           {DNNL_ARG_SCRATCHPAD, Scratchpad(p.bwd_pd.scratchpad_desc(), 0)}});
    stream.wait();
    return ffi::Error::Success();
  });
}

}  // namespace

// Bytes of the pool's workspace for input (n, h, w, c): the shape of the forward pass's second
// result, asked for by Python at trace time. -1 if oneDNN cannot build the primitive.
extern "C" int64_t pokeil_pool_workspace_bytes(int64_t n, int64_t h, int64_t w, int64_t c) {
  try {
    return static_cast<int64_t>(Pool({n, h, w, c}).fwd_pd.workspace_desc().get_size());
  } catch (...) {
    return -1;
  }
}

XLA_FFI_DEFINE_HANDLER_SYMBOL(pokeil_pool_forward, PoolForwardImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::U8>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(pokeil_pool_backward, PoolBackwardImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::U8>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(pokeil_conv_forward, ConvForwardImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Attr<bool>("relu"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(pokeil_conv_backward, ConvBackwardImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(pokeil_conv_backward_weights, ConvBackwardWeightsImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());
